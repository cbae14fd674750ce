"""Server settings every service shares."""

from __future__ import annotations

from typing import Any

# read_bufsize: bodies are read in 1 MiB buffers, not 64 KiB; per-chunk overhead dominates streaming.
# auto_decompress=False: a `Content-Encoding: gzip` body is never inflated (a small body can expand to
# gigabytes); the files service refuses encoded uploads instead.
SERVER_HANDLER_ARGS: dict[str, Any] = {"read_bufsize": 1024 * 1024, "auto_decompress": False}
