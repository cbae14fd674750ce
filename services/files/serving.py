"""File responses: sendfile with Range and conditional requests, a content-hash ETag, and safe headers;
bytes in S3 streamed with the same Range and HEAD behaviour, or answered with a redirect to a presigned URL.

Only passive types are shown inline; anything a browser could execute (HTML, SVG, XML, JS, unknown) is an
attachment. Every file response carries `nosniff` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import hdrs, web
from aiohttp.helpers import ETag

from services.files.library import Download
from shared.fileresponse import (
    ACCEL_REQUEST_HEADER,
    SENDFILE_ETAG_HEADER,
    SENDFILE_HEADER,
    HashedFileResponse,
    etag_matches,
    header_value,
    if_range_names,
    is_entity_tag,
    without_conditionals,
)
from shared.http import json_response
from shared.objects import ObjectStore


@dataclass(frozen=True)
class ObjectDownloads:
    """How bytes in S3 are sent: streamed through the services, or a redirect to a presigned URL (the
    bytes then never pass through them), valid for `presign_seconds`."""

    redirect: bool = False
    presign_seconds: int = 300


DOWNLOADS_KEY = web.AppKey("object_downloads", ObjectDownloads)

INLINE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif",
    "application/pdf", "text/plain",
})  # fmt: skip
INLINE_PREFIXES = ("audio/", "video/")
SANDBOX_CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"
_UNSAFE_FALLBACK = re.compile(r"[^A-Za-z0-9!#$&+.^_`|~ -]")


def is_inline(mime: str) -> bool:
    base = mime.split(";")[0].strip().lower()
    return base in INLINE_TYPES or base.startswith(INLINE_PREFIXES)


def content_disposition(name: str, mime: str) -> str:
    """RFC 6266: an ASCII fallback `filename` and the exact name, UTF-8 percent-encoded, in `filename*`."""
    kind = "inline" if is_inline(mime) else "attachment"
    fallback = _UNSAFE_FALLBACK.sub("_", name).strip() or "file"
    return f"{kind}; filename=\"{fallback[:150]}\"; filename*=UTF-8''{quote(name, safe='')}"


def entity_tag(download: Download) -> ETag:
    """An original's is its content hash, strong; a thumbnail's (or an original recorded without a hash)
    is weak, from its bytes' modification time and size: the same on every way the bytes leave (volume,
    the gateway's sendfile, S3), so a client polling a thumbnail is answered 304."""
    record = download.record
    if download.original and record.sha256:
        return ETag(value=record.sha256)
    return ETag(value=f"{int(download.modified * 1_000_000):x}-{download.size:x}", is_weak=True)


async def send_file(request: web.Request, download: Download, objects: ObjectStore | None) -> web.StreamResponse:
    record = download.record
    tag = entity_tag(download)
    headers = {
        hdrs.CONTENT_TYPE: download.content_type,
        hdrs.CONTENT_DISPOSITION: content_disposition(record.name, download.content_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_CSP,
        hdrs.CACHE_CONTROL: ("public" if record.is_public else "private") + ", no-cache",
    }
    # Every condition is decided here, whichever way the bytes then leave; Range and If-Range are the
    # sender's. The dates in the whole seconds Last-Modified has (FileResponse compares a file's fractional
    # mtime: Last-Modified sent back would never match), each ignored when its entity-tag counterpart was
    # sent (RFC 9110 §13.2.2).
    if_match, if_none_match = request.if_match, request.if_none_match
    if if_match is not None and not etag_matches(if_match, tag, weak=False):
        return _precondition_failed()
    if if_none_match is not None and etag_matches(if_none_match, tag, weak=True):
        return _not_modified(headers, tag)
    modified = int(download.modified)
    if if_match is None and (since := request.if_unmodified_since) is not None and modified > since.timestamp():
        return _precondition_failed()
    if if_none_match is None and (since := request.if_modified_since) is not None and modified <= since.timestamp():
        not_modified = _not_modified(headers, tag)
        not_modified.last_modified = modified
        return not_modified
    request = without_conditionals(request)
    if download.content is not None:
        return _send_ranged(request, download, headers, tag)
    if objects is not None and (key := objects.key(download.path)) is not None:
        policy = request.app[DOWNLOADS_KEY]
        if policy.redirect:
            disposition = headers[hdrs.CONTENT_DISPOSITION]
            url = await objects.presign(key, policy.presign_seconds, download.content_type, disposition)
            return web.Response(status=302, headers={hdrs.LOCATION: url, hdrs.CACHE_CONTROL: "private, no-store"})
        return await send_object(request, objects, key, download, headers, tag)
    if request.headers.get(ACCEL_REQUEST_HEADER) == "1":
        # The gateway shares FOLDER_PATH: it sends the bytes itself (sendfile), Range included.
        accel = web.Response(status=200, headers=headers)
        accel.headers[SENDFILE_HEADER] = download.path
        accel.headers[SENDFILE_ETAG_HEADER] = header_value(tag)
        return accel
    response = HashedFileResponse(download.path, tag, headers=headers)
    await response.prepare(request)
    return response


async def send_object(
    request: web.Request,
    objects: ObjectStore,
    key: str,
    download: Download,
    headers: dict[str, str],
    tag: ETag,
) -> web.StreamResponse:
    """An object's bytes as FileResponse sends a file's (see `_ranged`), streamed from S3."""
    answer = _ranged(request, download, headers, tag)
    if isinstance(answer, web.StreamResponse):
        return answer
    start, stop, response = answer
    await response.prepare(request)
    if request.method != hdrs.METH_HEAD and stop > start:
        async for chunk in objects.read(key, start, stop - 1):
            await response.write(chunk)
    await response.write_eof()
    return response


def _send_ranged(request: web.Request, download: Download, headers: dict[str, str], tag: ETag) -> web.StreamResponse:
    """A small original's bytes, already read, as FileResponse would send them (see `_ranged`)."""
    assert download.content is not None
    answer = _ranged(request, download, headers, tag)
    if isinstance(answer, web.StreamResponse):
        return answer
    start, stop, planned = answer
    planned.headers.popall(hdrs.CONTENT_LENGTH, None)  # the body's own
    return web.Response(status=planned.status, headers=planned.headers, body=download.content[start:stop])


def _ranged(
    request: web.Request, download: Download, headers: dict[str, str], tag: ETag
) -> web.StreamResponse | tuple[int, int, web.StreamResponse]:
    """One Range (else all), 416 past the end, If-Range on the content hash or the date (the other
    conditions are decided in `send_file`): either the answer itself, or the byte range to send and the
    response to send it in (headers set, not yet prepared)."""
    size, modified = download.size, int(download.modified)  # HTTP dates have whole seconds
    start, stop, status = 0, size, 200
    try:
        wanted = request.http_range
    except ValueError:  # several ranges or a malformed header: 416, as FileResponse answers
        return _unsatisfiable(size, headers)
    if_range = request.headers.get(hdrs.IF_RANGE)
    if if_range is None:
        honour = True
    elif is_entity_tag(if_range):
        honour = if_range_names(if_range, tag)
    else:  # a date, as FileResponse reads it: the file is unchanged since then
        honour = (since := request.if_range) is not None and modified <= since.timestamp()
    if honour and (wanted.start is not None or wanted.stop is not None):
        first = wanted.start if wanted.start is not None else 0
        if first < 0:  # bytes=-N: the last N bytes
            first = max(size + first, 0)
        last = min(wanted.stop, size) if wanted.stop is not None else size
        if first >= size or first >= last:
            return _unsatisfiable(size, headers)
        start, stop, status = first, last, 206
    response = web.StreamResponse(status=status, headers=headers)
    response.headers[hdrs.ACCEPT_RANGES] = "bytes"
    response.content_length = stop - start
    response.last_modified = modified
    if status == 206:
        response.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{size}"
    response.etag = tag
    return start, stop, response


def _precondition_failed() -> web.Response:
    return json_response({"error": "Precondition failed"}, status=412)


def _not_modified(headers: dict[str, str], tag: ETag) -> web.StreamResponse:
    response = web.StreamResponse(status=304, headers={k: v for k, v in headers.items() if k != hdrs.CONTENT_TYPE})
    response.etag = tag
    return response


def _unsatisfiable(size: int, headers: dict[str, str]) -> web.Response:
    """416 with the file's own headers, as FileResponse answers it."""
    return web.Response(status=416, headers={**headers, hdrs.CONTENT_RANGE: f"bytes */{size}"})
