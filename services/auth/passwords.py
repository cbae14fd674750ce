"""Password hashing: Argon2id off the event loop, legacy SHA1 accepted once and upgraded."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import re
import time
from collections.abc import AsyncIterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.metrics import HASH_WAIT

# OWASP's minimum for Argon2id: m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_LEGACY_SHA1 = re.compile(r"[0-9a-fA-F]{40}\Z")


def is_legacy_sha1(stored: str) -> bool:
    return _LEGACY_SHA1.match(stored) is not None


class PasswordHashing:
    """Bounded concurrency: each Argon2id hash holds 19 MiB and a core, so a login storm queues, not OOMs."""

    def __init__(self, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(HASHER.hash, password)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A hashing slot; the wait for it is measured (a login storm shows there first)."""
        started = time.perf_counter()
        async with self._slots:
            HASH_WAIT.observe(time.perf_counter() - started)
            yield

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await self.hash("timing equaliser")
        return self._dummy

    async def verify(self, stored: str | None, password: str) -> bool:
        """Exactly one Argon2id verification per call, whatever is stored, so timing reveals nothing."""
        if stored is not None and is_legacy_sha1(stored):
            await self._verify_argon2(await self._dummy_hash(), password)
            digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest()
            return hmac.compare_digest(digest, stored.lower())
        if stored is None or not stored.startswith("$argon2"):
            await self._verify_argon2(await self._dummy_hash(), password)
            return False
        return await self._verify_argon2(stored, password)

    async def _verify_argon2(self, stored: str, password: str) -> bool:
        async with self._slot():
            return await asyncio.to_thread(_verify, stored, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_upgrade(stored: str) -> bool:
    return is_legacy_sha1(stored) or HASHER.check_needs_rehash(stored)
