"""Streaming reverse proxy to the internal services: bodies flow chunk by chunk in both directions."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from shared.errors import ExpectationFailedError, GatewayTimeoutError, PayloadTooLargeError, UnavailableError
from shared.fileresponse import (
    ACCEL_REQUEST_HEADER,
    SENDFILE_ETAG_HEADER,
    SENDFILE_HEADER,
    HashedFileResponse,
    parse_entity_tag,
    without_conditionals,
)
from shared.http import json_response
from shared.identity import is_identity_header, sign
from shared.logs import REQUEST_ID, REQUEST_ID_HEADER

log = logging.getLogger(__name__)

# RFC 9110 §7.6.1 hop-by-hop headers, plus Host (set for the upstream) and Content-Length (recomputed).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "host",
        "expect",  # answered here (`continue_if_expected`), never passed on
    }
)
NO_BODY_STATUSES = frozenset({204, 304})
# What a load balancer in front of a service's replicas answers when none of them can: 502, 503, 504.
BALANCER_FAILURES = frozenset({502, 503, 504})
# Upstream answers up to this size are buffered and sent in one piece; larger ones are streamed.
SMALL_BODY = 64 * 1024


async def continue_if_expected(request: web.Request, body_cap: int) -> None:
    """`Expect: 100-continue` is answered only here, once the caller is authenticated and the announced
    body fits: a refused client never sends its body. aiohttp's own expect handler (which answers before
    any check) is replaced on every route by `defer_expect`."""
    expect = request.headers.get("Expect")
    if expect is None:
        return
    if expect.strip().lower() != "100-continue":
        raise ExpectationFailedError()
    length = request.content_length
    if length is not None and length > body_cap:
        raise PayloadTooLargeError()
    if request.version == aiohttp.HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the answer's own bytes are still to come


async def defer_expect(request: web.Request) -> None:
    """The route's expect handler: nothing before the handler's checks (see `continue_if_expected`)."""


def _connection_listed(headers: CIMultiDict[str] | object) -> set[str]:
    listed: set[str] = set()
    for value in getattr(headers, "getall")("Connection", []):  # noqa: B009 - multidict API
        listed.update(part.strip().lower() for part in value.split(",") if part.strip())
    return listed


def upstream_request_headers(request: web.Request, keep_token: bool) -> CIMultiDict[str]:
    dropped = HOP_BY_HOP | _connection_listed(request.headers)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in dropped or is_identity_header(name) or (lower == "x-token" and not keep_token):
            continue
        headers.add(name, value)
    headers["X-Forwarded-For"] = request.remote or ""
    headers["X-Forwarded-Proto"] = request.scheme
    return headers


def downstream_headers(upstream: aiohttp.ClientResponse) -> CIMultiDict[str]:
    dropped = HOP_BY_HOP | {"content-length", "date", "server"} | _connection_listed(upstream.headers)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream.headers.items():
        if name.lower() not in dropped:
            headers.add(name, value)
    return headers


def _within(root: Path, candidate: str) -> Path | None:
    """The file, if it resolves (symlinks followed) to a regular file directly inside `root`."""
    resolved = Path(os.path.realpath(candidate))
    if resolved.parent != root or not resolved.is_file():
        return None
    return resolved


async def _send_local_file(request: web.Request, upstream: aiohttp.ClientResponse, root: Path) -> web.StreamResponse:
    """The files service authorised the download and named the blob; send it from the shared volume."""
    path = await asyncio.to_thread(_within, root, upstream.headers[SENDFILE_HEADER])
    if path is None:
        log.error("refusing to send a file outside FOLDER_PATH or missing: %s", upstream.headers[SENDFILE_HEADER])
        return json_response({"error": "Not found"}, status=404)
    headers = downstream_headers(upstream)
    for name in (SENDFILE_HEADER, SENDFILE_ETAG_HEADER):
        headers.popall(name, None)
    tag = parse_entity_tag(upstream.headers.get(SENDFILE_ETAG_HEADER, ""))
    response = HashedFileResponse(str(path), tag, headers=headers)
    await response.prepare(without_conditionals(request))
    return response


async def forward(
    request: web.Request,
    session: aiohttp.ClientSession,
    base_url: str,
    secret: bytes,
    user_id: str,
    keep_token: bool = False,
    sendfile_root: Path | None = None,
    upstream_timeout: aiohttp.ClientTimeout | None = None,
) -> web.StreamResponse:
    """Stream the request to `base_url` and the answer back; with `sendfile_root`, let the files
    service hand a download over to be sent from the shared volume."""
    headers = upstream_request_headers(request, keep_token)
    headers.update(sign(secret, user_id, request.method, request.raw_path))
    headers[REQUEST_ID_HEADER] = REQUEST_ID.get()  # the id chosen for this request, not the client's raw one
    if sendfile_root is not None:
        headers[ACCEL_REQUEST_HEADER] = "1"
    url = URL(base_url + request.raw_path, encoded=True)
    data = request.content if request.body_exists else None
    response: web.StreamResponse | None = None
    try:
        async with session.request(
            request.method,
            url,
            headers=headers,
            data=data,
            allow_redirects=False,
            timeout=upstream_timeout if upstream_timeout is not None else session.timeout,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as upstream:
            if sendfile_root is not None and upstream.status == 200 and SENDFILE_HEADER in upstream.headers:
                return await _send_local_file(request, upstream, sendfile_root)
            if upstream.status in BALANCER_FAILURES and upstream.content_type != "application/json":
                # Not our service's answer (it speaks JSON): a balancer in front of its replicas found none
                # alive, or none in time. The client gets the contract's error, not the balancer's page.
                log.warning("upstream %s answered %d from its balancer", base_url, upstream.status)
                raise GatewayTimeoutError() if upstream.status == 504 else UnavailableError()
            no_body = request.method == "HEAD" or upstream.status in NO_BODY_STATUSES
            length = upstream.content_length
            if not no_body and length is not None and length <= SMALL_BODY:
                # Most answers are a few hundred bytes of JSON: read whole, sent with the headers in one write.
                body = await upstream.read()
                return web.Response(
                    status=upstream.status, reason=upstream.reason, headers=downstream_headers(upstream), body=body
                )
            response = web.StreamResponse(
                status=upstream.status, reason=upstream.reason, headers=downstream_headers(upstream)
            )
            if length is not None and "chunked" not in upstream.headers.get("Transfer-Encoding", "").lower():
                response.content_length = length
            await response.prepare(request)
            if not no_body:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        if response is not None and response.prepared:
            log.warning("upstream %s broke off mid-response: %r", base_url, exc)
            raise
        if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ConnectionTimeoutError):
            # It took the request and said nothing in time (stopped, or stuck): 504, not a wait of minutes.
            log.warning("upstream %s did not answer %s %s in time", base_url, request.method, request.path)
            raise GatewayTimeoutError() from exc
        log.warning("upstream %s unavailable: %r", base_url, exc)
        raise UnavailableError() from exc
