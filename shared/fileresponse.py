"""aiohttp's FileResponse (sendfile, single Range, HEAD) with a strong ETag from the content's SHA-256.

Used by the files service, and by the gateway when it sends a blob itself from the shared volume.
"""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web
from aiohttp.helpers import ETAG_ANY, ETag

# Headers between the files service and the gateway: "you may hand me the file" and "here it is".
ACCEL_REQUEST_HEADER = "X-FM-Accel"
SENDFILE_HEADER = "X-FM-Sendfile"
SENDFILE_ETAG_HEADER = "X-FM-Sendfile-ETag"
CONDITIONAL_HEADERS = (hdrs.IF_MATCH, hdrs.IF_NONE_MATCH, hdrs.IF_MODIFIED_SINCE, hdrs.IF_UNMODIFIED_SINCE)


# uvloop has no loop.sendfile(): FileResponse then sends chunks read by a thread, and larger chunks
# mean fewer thread hand-offs and socket writes per byte.
CHUNK_SIZE = 1024 * 1024


class HashedFileResponse(web.FileResponse):
    def __init__(self, path: str, strong_etag: str | None, **kwargs: Any) -> None:
        super().__init__(path, chunk_size=CHUNK_SIZE, **kwargs)
        self._strong_etag = strong_etag

    @property
    def etag(self) -> Any:
        return web.StreamResponse.etag.fget(self)  # type: ignore[attr-defined]  # a property seen as a str

    @etag.setter
    def etag(self, value: Any) -> None:
        # FileResponse assigns its mtime-size ETag here; the content hash wins when there is one.
        web.StreamResponse.etag.fset(self, self._strong_etag or value)  # type: ignore[attr-defined]  # a property seen as a str

    async def prepare(self, request: web.BaseRequest) -> Any:
        # FileResponse.prepare redoes its work on a second call; aiohttp calls it again after a handler
        # that prepared the response itself (with a request cloned without its conditional headers).
        if self.prepared:
            return None
        return await super().prepare(request)


def etag_matches(request_tags: tuple[ETag, ...], value: str, weak: bool) -> bool:
    """Whether an If-Match (strong comparison) or If-None-Match (`weak`) list names `value`, or is `*`."""
    return any(t.value == ETAG_ANY or (t.value == value and (weak or not t.is_weak)) for t in request_tags)


def without_conditionals(request: web.Request) -> web.Request:
    """The request minus the conditional headers already decided on the content hash."""
    if not any(name in request.headers for name in CONDITIONAL_HEADERS):
        return request
    stripped = request.headers.copy()
    for name in CONDITIONAL_HEADERS:
        stripped.popall(name, None)
    return request.clone(headers=stripped)
