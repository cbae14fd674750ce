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
    """FileResponse with the entity-tag the files service chose (the content hash, strong; a thumbnail's,
    weak) in place of its own mtime-size one."""

    def __init__(self, path: str, entity_tag: ETag | None, **kwargs: Any) -> None:
        super().__init__(path, chunk_size=CHUNK_SIZE, **kwargs)
        self._entity_tag = entity_tag

    @property
    def etag(self) -> Any:
        return web.StreamResponse.etag.fget(self)  # type: ignore[attr-defined]  # a property seen as a str

    @etag.setter
    def etag(self, value: Any) -> None:
        # FileResponse assigns its mtime-size ETag here; the chosen one wins when there is one.
        web.StreamResponse.etag.fset(self, self._entity_tag or value)  # type: ignore[attr-defined]  # a property seen as a str

    async def prepare(self, request: web.BaseRequest) -> Any:
        # FileResponse.prepare redoes its work on a second call; aiohttp calls it again after a handler
        # that prepared the response itself (with a request cloned without its conditional headers).
        if self.prepared:
            return None
        return await super().prepare(_if_range_decided(request, self._entity_tag))


def is_entity_tag(value: str) -> bool:
    return value.strip().startswith(('"', "W/"))


def header_value(tag: ETag) -> str:
    return f'{"W/" if tag.is_weak else ""}"{tag.value}"'


def parse_entity_tag(value: str) -> ETag | None:
    """One entity-tag as `header_value` writes it (`"v"` or `W/"v"`), else None."""
    weak = value.startswith("W/")
    quoted = value[2:] if weak else value
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        return None
    return ETag(value=quoted[1:-1], is_weak=weak)


def if_range_names(value: str, tag: ETag | None) -> bool:
    """An entity-tag If-Range holds only for a strong tag of the content, compared strongly (RFC 9110
    §13.1.5): a weak tag never does."""
    return tag is not None and not tag.is_weak and value.strip() == header_value(tag)


def _if_range_decided(request: web.BaseRequest, tag: ETag | None) -> web.BaseRequest:
    """FileResponse reads If-Range as a date only, and ignores an entity-tag (it would send the range of
    a changed file): an entity-tag is decided here, the Range kept or dropped with it."""
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is None or not is_entity_tag(if_range):
        return request
    headers = request.headers.copy()
    headers.popall(hdrs.IF_RANGE)
    if not if_range_names(if_range, tag):
        headers.popall(hdrs.RANGE, None)  # the whole file, as a 200
    return request.clone(headers=headers)


def etag_matches(request_tags: tuple[ETag, ...], tag: ETag, weak: bool) -> bool:
    """Whether an If-None-Match (`weak` comparison) or If-Match (strong: both tags strong and equal)
    list names `tag`, or is `*` (RFC 9110 §8.8.3.2)."""
    return any(
        t.value == ETAG_ANY or (t.value == tag.value and (weak or not (t.is_weak or tag.is_weak))) for t in request_tags
    )


def without_conditionals(request: web.Request) -> web.Request:
    """The request minus the conditional headers, all decided by the files service."""
    if not any(name in request.headers for name in CONDITIONAL_HEADERS):
        return request
    stripped = request.headers.copy()
    for name in CONDITIONAL_HEADERS:
        stripped.popall(name, None)
    return request.clone(headers=stripped)
