"""The thumbnailer's view of the files service: where an image's bytes are, and where its outcome goes.

The thumbnailer owns no table. It asks the files service, with the job's user as the signed caller, for
the image a job names, and reports each outcome back; the files service alone records thumbnail state.
"""

from __future__ import annotations

from typing import Protocol

from shared.internal import InternalClient, SourceView, ThumbnailOutcome, ThumbnailReport, source_path, thumbnail_path


class UnexpectedAnswerError(Exception):
    """The files service answered what the internal contract does not allow: retried like an outage."""


class Images(Protocol):
    async def source(self, file_id: str, user_id: str) -> SourceView | None: ...
    async def report(self, file_id: str, user_id: str, outcome: ThumbnailOutcome) -> bool: ...


class FilesClient:
    def __init__(self, client: InternalClient) -> None:
        self._client = client

    async def source(self, file_id: str, user_id: str) -> SourceView | None:
        """The live record `file_id` of `user_id`, or None when there is none."""
        status, body = await self._client.call("GET", source_path(file_id), user_id)
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise UnexpectedAnswerError(f"source of {file_id}: {status}")
        view: SourceView = {"id": str(body["id"]), "type": str(body["type"]), "localPath": body.get("localPath")}
        return view

    async def report(self, file_id: str, user_id: str, outcome: ThumbnailOutcome) -> bool:
        """Record `outcome`; False when the image is gone (deleted meanwhile)."""
        report: ThumbnailReport = {"thumbnail": outcome}
        status, _ = await self._client.call("PUT", thumbnail_path(file_id), user_id, report)
        if status == 404:
            return False
        if status != 200:
            raise UnexpectedAnswerError(f"thumbnail report of {file_id}: {status}")
        return True
