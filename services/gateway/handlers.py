"""The public routes: /status and /stats answered here, everything else proxied with a signed identity."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import aiohttp
from aiohttp import web

from services.gateway.authn import TokenResolver
from services.gateway.proxy import continue_if_expected, forward
from shared.batching import Batched
from shared.errors import AuthenticationError, Handler, UnavailableError
from shared.http import json_response
from shared.identity import ANONYMOUS, CALLER_KEY, Caller
from shared.internal import STATS_PATH, FileCount, InternalClient, UserCount
from shared.settings import MIB, UploadCaps
from shared.tokens import TOKENS_KEY


@dataclass
class Upstreams:
    session: aiohttp.ClientSession
    auth_url: str
    files_url: str
    secret: bytes
    sendfile_root: Path | None
    # Per route (ADR 9): auth answers in seconds; the files service's metadata routes within a minute;
    # transfers (uploads, downloads) may be silent for longer (the session's own timeout).
    auth_timeout: aiohttp.ClientTimeout
    files_timeout: aiohttp.ClientTimeout
    uploads: UploadCaps
    _root_seen: Path | None = None

    @property
    def auth(self) -> InternalClient:
        return InternalClient(self.session, self.auth_url, self.secret)

    @property
    def files(self) -> InternalClient:
        return InternalClient(self.session, self.files_url, self.secret)

    def body_cap(self, request: web.Request, transfer_methods: frozenset[str]) -> int:
        """The largest body the upstream would take for this request (for `Expect: 100-continue`)."""
        if request.method not in transfer_methods:
            return MIB
        if request.content_type == "application/json":
            return self.uploads.json_body
        return self.uploads.file + MIB  # multipart: the file plus its fields and boundaries

    async def metadata_ready(self, url: str) -> bool:
        """What the service at `url` says of its metadata store in its readiness report."""
        try:
            async with self.session.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as response:
                report = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False
        checks = report.get("checks") if isinstance(report, dict) else None
        return isinstance(checks, dict) and checks.get("metadata") is True

    async def downloads_root(self) -> Path | None:
        """FOLDER_PATH once it exists here (the files service creates it at its first upload)."""
        if self._root_seen is None and self.sendfile_root is not None:
            root = self.sendfile_root
            if await asyncio.to_thread(root.is_dir):
                self._root_seen = await asyncio.to_thread(root.resolve)
        return self._root_seen


RESOLVER_KEY = web.AppKey("resolver", TokenResolver)
UPSTREAMS_KEY = web.AppKey("upstreams", Upstreams)
STATUS_TTL_SECONDS = 1.0


class Access(enum.Enum):
    PUBLIC = "public"  # no token needed, none looked at
    OPTIONAL = "optional"  # a valid token identifies the caller; an invalid one counts as anonymous
    REQUIRED = "required"  # 401 without a valid token


class StatusView(TypedDict):
    redis: bool
    db: bool


class StatusCache:
    """`/status` costs a ping and two readiness checks; it is measured at most once a second per process
    and every caller in that second gets that answer (concurrent callers share one measurement)."""

    def __init__(self, measure: Callable[[], Awaitable[StatusView]], ttl: float = STATUS_TTL_SECONDS) -> None:
        self._measure = measure
        self._ttl = ttl
        self._value: StatusView | None = None
        self._expires = 0.0
        self._pending: asyncio.Future[StatusView] | None = None

    async def get(self) -> StatusView:
        loop = asyncio.get_running_loop()
        if self._value is not None and loop.time() < self._expires:
            return self._value
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._pending)

    async def _refresh(self) -> StatusView:
        try:
            value = await self._measure()
            self._value, self._expires = value, asyncio.get_running_loop().time() + self._ttl
            return value
        finally:
            self._pending = None


def status_cache(app: web.Application) -> StatusCache:
    """`redis`: the token store answers; `db`: auth and files both say their metadata store answers."""

    async def measure() -> StatusView:
        upstreams = app[UPSTREAMS_KEY]
        tokens, auth_db, files_db = await asyncio.gather(
            app[TOKENS_KEY].ping(),
            upstreams.metadata_ready(upstreams.auth_url),
            upstreams.metadata_ready(upstreams.files_url),
        )
        return {"redis": tokens, "db": auth_db and files_db}

    return StatusCache(measure)


STATUS_KEY = web.AppKey("status", StatusCache)


async def get_status(request: web.Request) -> web.Response:
    return json_response(await request.app[STATUS_KEY].get())


class StatsView(TypedDict):
    users: int
    files: int


STATS_QUESTION = "stats"  # every caller asks the same one


def stats_reader(app: web.Application) -> Batched[str, StatsView]:
    """The counts each owner reports: users from auth, files from the files service. The callers of one
    turn of the loop share one pair of counts, made after each of them asked (shared/batching.py)."""

    async def count(questions: Sequence[str]) -> list[StatsView]:
        upstreams = app[UPSTREAMS_KEY]
        (auth_status, users), (files_status, files) = await asyncio.gather(
            upstreams.auth.call("GET", STATS_PATH), upstreams.files.call("GET", STATS_PATH)
        )
        if auth_status != 200 or files_status != 200:
            raise UnavailableError()
        user_count: UserCount = users
        file_count: FileCount = files
        return [{"users": user_count["users"], "files": file_count["files"]} for _ in questions]

    return Batched(count)


STATS_KEY = web.AppKey("stats", Batched[str, StatsView])


async def get_stats(request: web.Request) -> web.Response:
    return json_response(await request.app[STATS_KEY].load(STATS_QUESTION))


def proxy_to(
    service: str,
    access: Access,
    public_methods: frozenset[str] = frozenset(),
    keep_token: bool = False,
    sendfile: bool = False,
    transfer_methods: frozenset[str] = frozenset(),
) -> Handler:
    """A handler that authenticates per `access` and forwards to `service` ("auth" or "files").

    With `sendfile`, a download the files service authorises is sent by the gateway from the shared volume.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        mode = Access.PUBLIC if request.method in public_methods else access
        user_id = ANONYMOUS
        if mode is not Access.PUBLIC:
            resolved = await request.app[RESOLVER_KEY].resolve(request.headers.get("X-Token"))
            if resolved is None and mode is Access.REQUIRED:
                raise AuthenticationError()
            user_id = resolved or ANONYMOUS
            if resolved:
                request[CALLER_KEY] = Caller(resolved)  # for the access line
        upstreams = request.app[UPSTREAMS_KEY]
        await continue_if_expected(request, upstreams.body_cap(request, transfer_methods))
        timeout: aiohttp.ClientTimeout | None  # None: the session's own, for transfers
        if service == "auth":
            base, timeout = upstreams.auth_url, upstreams.auth_timeout
        else:
            transfer = sendfile or request.method in transfer_methods
            base, timeout = upstreams.files_url, None if transfer else upstreams.files_timeout
        root = await upstreams.downloads_root() if sendfile else None
        return await forward(
            request, upstreams.session, base, upstreams.secret, user_id, keep_token, root, upstream_timeout=timeout
        )

    return handler
