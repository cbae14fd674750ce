"""Test helpers around asynchronous bodies and consumers: large generated bodies, bounded consumer runs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

MIB = 2**20


class GeneratedBody:
    """`size` bytes of a non-repeating-per-MiB pattern, hashed as they are produced."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sha256 = hashlib.sha256()
        self._block = bytes(range(256)) * (MIB // 256)

    async def chunks(self) -> AsyncIterator[bytes]:
        sent = 0
        index = 0
        while sent < self.size:
            chunk = index.to_bytes(8, "big") + self._block[8 : min(MIB, self.size - sent)]
            chunk = chunk[: self.size - sent]
            self.sha256.update(chunk)
            sent += len(chunk)
            index += 1
            yield chunk


async def consume_for(queue: Any, name: str, handler: Any, seconds: float) -> None:
    """Run a job consumer for a while, then stop it as a shutdown would."""
    task = asyncio.create_task(queue.consume(name, handler))
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
