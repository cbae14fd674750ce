"""Server settings every service shares, and the one way they answer JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

# read_bufsize: bodies are read in 1 MiB buffers, not 64 KiB; per-chunk overhead dominates streaming.
# auto_decompress=False: a `Content-Encoding: gzip` body is never inflated (a small body can expand to
# gigabytes); the files service refuses encoded uploads instead.
SERVER_HANDLER_ARGS: dict[str, Any] = {"read_bufsize": 1024 * 1024, "auto_decompress": False}


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """`data` as compact JSON (as the original service writes it), serialised by orjson: bytes straight
    into the body, several times faster than the standard library for the views answered here."""
    return web.Response(
        body=orjson.dumps(data), status=status, headers=headers, content_type="application/json", charset="utf-8"
    )
