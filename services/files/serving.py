"""File responses: sendfile with Range and conditional requests, a content-hash ETag, and safe headers.

Only passive types are shown inline; anything a browser could execute (HTML, SVG, XML, JS, unknown) is an
attachment. Every file response carries `nosniff` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from aiohttp import hdrs, web
from aiohttp.helpers import ETAG_ANY

from services.files.library import Download
from shared.fileresponse import (
    ACCEL_REQUEST_HEADER,
    SENDFILE_ETAG_HEADER,
    SENDFILE_HEADER,
    HashedFileResponse,
    without_conditionals,
)
from shared.http import json_response

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


def _matches(request_tags: Any, value: str, weak: bool) -> bool:
    return any(t.value == ETAG_ANY or (t.value == value and (weak or not t.is_weak)) for t in request_tags)


async def send_file(request: web.Request, download: Download) -> web.StreamResponse:
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
        if (if_match := request.if_match) is not None and not _matches(if_match, strong, weak=False):
            return json_response({"error": "Precondition failed"}, status=412)
        if (if_none_match := request.if_none_match) is not None and _matches(if_none_match, strong, weak=True):
            response = web.StreamResponse(
                status=304, headers={k: v for k, v in headers.items() if k != hdrs.CONTENT_TYPE}
            )
            response.etag = strong
            return response
        if if_match is not None or if_none_match is not None:
            request = without_conditionals(request)
    if request.headers.get(ACCEL_REQUEST_HEADER) == "1":
        # The gateway shares FOLDER_PATH: it sends the bytes itself (sendfile), Range included.
        accel = web.Response(status=200, headers=headers)
        accel.headers[SENDFILE_HEADER] = download.path
        accel.headers[SENDFILE_ETAG_HEADER] = strong or ""
        return accel
    response = HashedFileResponse(download.path, strong, headers=headers)
    await response.prepare(request)
    return response
