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
DATE_CONDITIONALS = (hdrs.IF_MODIFIED_SINCE, hdrs.IF_UNMODIFIED_SINCE)
CONDITIONAL_HEADERS = (hdrs.IF_MATCH, hdrs.IF_NONE_MATCH, *DATE_CONDITIONALS)


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
        return await super().prepare(_if_range_decided(request, self._strong_etag))


def is_entity_tag(value: str) -> bool:
    return value.strip().startswith(('"', "W/"))


def if_range_names(value: str, strong_etag: str | None) -> bool:
    """An entity-tag If-Range holds only for the content's hash, compared strongly (RFC 9110 §13.1.5)."""
    return strong_etag is not None and value.strip() == f'"{strong_etag}"'


def _if_range_decided(request: web.BaseRequest, strong_etag: str | None) -> web.BaseRequest:
    """FileResponse reads If-Range as a date only, and ignores an entity-tag (it would send the range of
    a changed file): an entity-tag is decided here, the Range kept or dropped with it."""
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is None or not is_entity_tag(if_range):
        return request
    headers = request.headers.copy()
    headers.popall(hdrs.IF_RANGE)
    if not if_range_names(if_range, strong_etag):
        headers.popall(hdrs.RANGE, None)  # the whole file, as a 200
    return request.clone(headers=headers)


def etag_matches(request_tags: tuple[ETag, ...], value: str, weak: bool) -> bool:
    """Whether an If-Match (strong comparison) or If-None-Match (`weak`) list names `value`, or is `*`."""
    return any(t.value == ETAG_ANY or (t.value == value and (weak or not t.is_weak)) for t in request_tags)


def without_conditionals(request: web.Request, names: tuple[str, ...] = CONDITIONAL_HEADERS) -> web.Request:
    """The request minus the conditional headers already decided (by the files service)."""
    if not any(name in request.headers for name in names):
        return request
    stripped = request.headers.copy()
    for name in names:
        stripped.popall(name, None)
    return request.clone(headers=stripped)
