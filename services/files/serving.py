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

from services.files.library import Download
from shared.fileresponse import (
    ACCEL_REQUEST_HEADER,
    SENDFILE_ETAG_HEADER,
    SENDFILE_HEADER,
    HashedFileResponse,
    etag_matches,
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


async def send_file(request: web.Request, download: Download, objects: ObjectStore | None) -> web.StreamResponse:
    record = download.record
    strong = record.sha256 if download.original and record.sha256 else None
    headers = {
        hdrs.CONTENT_TYPE: download.content_type,
        hdrs.CONTENT_DISPOSITION: content_disposition(record.name, download.content_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX_CSP,
        hdrs.CACHE_CONTROL: ("public" if record.is_public else "private") + ", no-cache",
    }
    if strong is not None:
        # Conditional requests on the content hash; the rest (Range, If-Range, dates) is FileResponse's.
        if (if_match := request.if_match) is not None and not etag_matches(if_match, strong, weak=False):
            return _precondition_failed()
        if (if_none_match := request.if_none_match) is not None and etag_matches(if_none_match, strong, weak=True):
            response = _not_modified(headers)
            response.etag = strong
            return response
        if if_match is not None or if_none_match is not None:
            request = without_conditionals(request)
    if objects is not None and (key := objects.key(download.path)) is not None:
        policy = request.app[DOWNLOADS_KEY]
        if policy.redirect:
            disposition = headers[hdrs.CONTENT_DISPOSITION]
            url = await objects.presign(key, policy.presign_seconds, download.content_type, disposition)
            return web.Response(status=302, headers={hdrs.LOCATION: url, hdrs.CACHE_CONTROL: "private, no-store"})
        return await send_object(request, objects, key, download, headers, strong)
    if request.headers.get(ACCEL_REQUEST_HEADER) == "1":
        # The gateway shares FOLDER_PATH: it sends the bytes itself (sendfile), Range included.
        accel = web.Response(status=200, headers=headers)
        accel.headers[SENDFILE_HEADER] = download.path
        accel.headers[SENDFILE_ETAG_HEADER] = strong or ""
        return accel
    response = HashedFileResponse(download.path, strong, headers=headers)
    await response.prepare(request)
    return response


async def send_object(
    request: web.Request,
    objects: ObjectStore,
    key: str,
    download: Download,
    headers: dict[str, str],
    strong: str | None,
) -> web.StreamResponse:
    """An object's bytes as FileResponse sends a file's: Last-Modified with If-Modified-Since (304) and
    If-Unmodified-Since (412), one Range (else all), 416 past the end, HEAD without a body, If-Range on
    the content hash."""
    size, modified = download.size, int(download.modified)  # HTTP dates have whole seconds
    if (unmodified_since := request.if_unmodified_since) is not None and modified > unmodified_since.timestamp():
        return _precondition_failed()
    if (modified_since := request.if_modified_since) is not None and modified <= modified_since.timestamp():
        not_modified = _not_modified(headers)
        not_modified.last_modified = modified
        return not_modified
    start, stop, status = 0, size, 200
    try:
        wanted = request.http_range
    except ValueError:  # several ranges or a malformed header: 416, as FileResponse answers
        return _unsatisfiable(size)
    if_range = request.headers.get(hdrs.IF_RANGE)
    honour = if_range is None or (strong is not None and if_range.strip() == f'"{strong}"')
    if honour and (wanted.start is not None or wanted.stop is not None):
        first = wanted.start if wanted.start is not None else 0
        if first < 0:  # bytes=-N: the last N bytes
            first = max(size + first, 0)
        last = min(wanted.stop, size) if wanted.stop is not None else size
        if first >= size or first >= last:
            return _unsatisfiable(size)
        start, stop, status = first, last, 206
    response = web.StreamResponse(status=status, headers=headers)
    response.headers[hdrs.ACCEPT_RANGES] = "bytes"
    response.content_length = stop - start
    response.last_modified = modified
    if status == 206:
        response.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{stop - 1}/{size}"
    if strong is not None:
        response.etag = strong
    await response.prepare(request)
    if request.method != hdrs.METH_HEAD and stop > start:
        async for chunk in objects.read(key, start, stop - 1):
            await response.write(chunk)
    await response.write_eof()
    return response


def _precondition_failed() -> web.Response:
    return json_response({"error": "Precondition failed"}, status=412)


def _not_modified(headers: dict[str, str]) -> web.StreamResponse:
    return web.StreamResponse(status=304, headers={k: v for k, v in headers.items() if k != hdrs.CONTENT_TYPE})


def _unsatisfiable(size: int) -> web.Response:
    return web.Response(status=416, headers={hdrs.CONTENT_RANGE: f"bytes */{size}"})
