"""Large deterministic bodies generated on the fly, never held in memory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

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
