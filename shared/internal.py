"""Calls between services: the internal routes, the shapes of their bodies, and a client that signs them.

A service reaches another's data only through these routes (or the job queues), never its tables. Every
call carries an identity signed with the deployment's internal secret (shared/identity.py), so an
internal port reached directly grants nothing; the gateway routes no `/internal/` path from the outside.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import aiohttp

from shared.errors import UnavailableError
from shared.identity import ANONYMOUS, sign
from shared.logs import NO_REQUEST, REQUEST_ID, REQUEST_ID_HEADER

STATS_PATH = "/internal/stats"  # auth: UserCount; files: FileCount
SOURCE_ROUTE = "/internal/files/{id}/source"  # files, GET as the owner: SourceView or 404
THUMBNAIL_ROUTE = "/internal/files/{id}/thumbnail"  # files, PUT as the owner: ThumbnailReport → ThumbnailState

ThumbnailOutcome = Literal["ready", "failed"]
THUMBNAIL_OUTCOMES: tuple[ThumbnailOutcome, ...] = ("ready", "failed")


class UserCount(TypedDict):
    users: int


class FileCount(TypedDict):
    files: int


class SourceView(TypedDict):
    """What the thumbnailer needs of an image: where its bytes are."""

    id: str
    type: str
    localPath: str | None


class ThumbnailReport(TypedDict):
    thumbnail: ThumbnailOutcome


class ThumbnailState(TypedDict):
    id: str
    thumbnail: str


def source_path(file_id: str) -> str:
    return SOURCE_ROUTE.replace("{id}", file_id)


def thumbnail_path(file_id: str) -> str:
    return THUMBNAIL_ROUTE.replace("{id}", file_id)


class InternalClient:
    """Signed JSON calls to one service. A service that does not answer, or answers 5xx, is an
    `UnavailableError` (503 to a client, a retry for a job); any other status is the caller's to read."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, secret: bytes) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._secret = secret

    async def call(self, method: str, path: str, user_id: str = ANONYMOUS, body: object = None) -> tuple[int, Any]:
        headers = sign(self._secret, user_id, method, path)
        request_id = REQUEST_ID.get()
        if request_id != NO_REQUEST:
            headers[REQUEST_ID_HEADER] = request_id
        try:
            async with self._session.request(method, self._base + path, headers=headers, json=body) as response:
                payload = await response.json() if response.content_type == "application/json" else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError() from exc
        if status >= 500:
            raise UnavailableError()
        return status, payload
