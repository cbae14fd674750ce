"""Login rate limiting: failed logins counted per account and per client address, in the token store's
engine (Redis keys, or a table of the SQLite file), in fixed windows.

Each login attempt takes a slot first (an atomic increment) and gives it back only when it succeeds, so
racing attempts cannot pass the limit together: the (limit + 1)-th concurrent guess is refused whatever the
interleaving. A success clears the account's count. Unknown accounts are counted like known ones, so the
answer never tells whether an email is registered. Keys hold a digest, never the email or the address.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Protocol

import aiosqlite
import redis.asyncio as aioredis
from aiohttp import web

from shared.errors import TooManyRequestsError
from shared.sqlite import SQLITE_KEY, SqliteSchema, apply_schema
from shared.tokens import TOKENS_KEY, RedisTokenStore

KEY_PREFIX = "login_attempts_"

SQLITE_SCHEMA = SqliteSchema(
    """
CREATE TABLE IF NOT EXISTS login_attempts (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
"""
)


class AttemptCounter(Protocol):
    async def take(self, key: str, window: int) -> tuple[int, float]:
        """Count one attempt under `key`; (attempts in the current window, seconds until it ends)."""
        ...

    async def give_back(self, key: str) -> None: ...
    async def clear(self, key: str) -> None: ...


class RedisAttempts:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def take(self, key: str, window: int) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)  # the window starts at its first attempt
            pipe.pttl(key)
            count, _, left_ms = await pipe.execute()
        return int(count), max(int(left_ms), 0) / 1000

    async def give_back(self, key: str) -> None:
        await self._redis.decr(key)

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)


class SqliteAttempts:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def take(self, key: str, window: int) -> tuple[int, float]:
        now = time.time()
        # One statement: the increment, the window's restart once it has ended, and the read are atomic.
        rows = await self._conn.execute_fetchall(
            """
            INSERT INTO login_attempts (key, count, expires_at) VALUES (?, 1, ?)
            ON CONFLICT (key) DO UPDATE SET
                count = CASE WHEN expires_at <= ? THEN 1 ELSE count + 1 END,
                expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END
            RETURNING count, expires_at
            """,
            (key, now + window, now, now),
        )
        count, expires_at = next(iter(rows))
        return int(count), max(float(expires_at) - now, 0.0)

    async def give_back(self, key: str) -> None:
        await self._conn.execute("UPDATE login_attempts SET count = count - 1 WHERE key = ? AND count > 0", (key,))

    async def clear(self, key: str) -> None:
        now = time.time()
        await self._conn.execute("DELETE FROM login_attempts WHERE key = ? OR expires_at <= ?", (key, now))


@dataclass(frozen=True)
class ThrottleSettings:
    per_account: int  # failed logins of one account in a window; 0: no limit
    per_address: int  # failed logins from one client address in a window; 0: no limit
    window: int  # seconds


@dataclass(frozen=True)
class Claim:
    account: str
    address: str


def _key(kind: str, value: str) -> str:
    return f"{KEY_PREFIX}{kind}_{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


class LoginThrottle:
    def __init__(self, counter: AttemptCounter, settings: ThrottleSettings) -> None:
        self._counter = counter
        self._settings = settings

    async def claim(self, email: str, address: str) -> Claim:
        """Take this attempt's slots, or raise TooManyRequestsError (with the seconds until a retry can pass)."""
        claim = Claim(_key("account", email), _key("address", address))
        waits = []
        for key, limit in ((claim.account, self._settings.per_account), (claim.address, self._settings.per_address)):
            if limit <= 0:
                continue
            count, left = await self._counter.take(key, self._settings.window)
            if count > limit:
                waits.append(left)
        if waits:
            raise TooManyRequestsError(max(1, math.ceil(max(waits))))
        return claim

    async def succeeded(self, claim: Claim) -> None:
        if self._settings.per_account > 0:
            await self._counter.clear(claim.account)
        if self._settings.per_address > 0:
            await self._counter.give_back(claim.address)


async def open_attempts(app: web.Application) -> AttemptCounter:
    """The counters live where the tokens do (opened before): Redis when configured, else the SQLite file."""
    tokens = app[TOKENS_KEY]
    if isinstance(tokens, RedisTokenStore):
        return RedisAttempts(tokens.client)
    await apply_schema(app[SQLITE_KEY], SQLITE_SCHEMA)
    return SqliteAttempts(app[SQLITE_KEY])
