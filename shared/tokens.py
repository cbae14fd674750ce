"""Token store: Redis keys `auth_<token>` in production, a table of the SQLite file when embedded.

Auth owns it (it issues and revokes tokens); the gateway only reads it, to resolve `X-Token` to a user id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

import aiosqlite
import redis.asyncio as aioredis
import redis.exceptions
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from shared.batching import Batched
from shared.errors import ENGINE_WAIT_SECONDS, failure_rule
from shared.health import Check, hold
from shared.settings import EngineSettings
from shared.sqlite import SQLITE_KEY, SqliteSchema, apply_schema, fetch, select_engine, sqlite_alive

log = logging.getLogger(__name__)

TOKEN_TTL_SECONDS = 86400  # the contract's `EX 86400`
TOKEN_KEY_PREFIX = "auth_"  # noqa: S105 - the contract's Redis key layout, not a secret

# Connections per process; more concurrent requests queue for one (Redis answers a GET in microseconds).
POOL_SIZE = 64
# Redis not answering (or still loading, or a read-only replica) is a 503; out of memory is a 507.
FAILURES = failure_rule(
    unavailable=(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ReadOnlyError),
    full=(redis.exceptions.OutOfMemoryError,),
)

SQLITE_SCHEMA = SqliteSchema(
    """
CREATE TABLE IF NOT EXISTS tokens (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL
);
"""
)


def token_key(token: str) -> str:
    return f"{TOKEN_KEY_PREFIX}{token}"


class TokenStore(Protocol):
    async def get(self, token: str) -> str | None: ...
    async def set(self, token: str, user_id: str, ttl: int = TOKEN_TTL_SECONDS) -> None: ...
    async def delete(self, token: str) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class RedisTokenStore:
    def __init__(self, url: str) -> None:
        # Few, short retries: with Redis down a request should become a 503 within about a second.
        # A blocking pool: past its size a request waits for a free connection (back-pressure) instead
        # of failing with MaxConnectionsError, which is a ConnectionError and would read as an outage.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=ENGINE_WAIT_SECONDS,
            decode_responses=True,
            socket_connect_timeout=1,
            socket_timeout=2,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        )
        self._redis = aioredis.Redis.from_pool(pool)  # owns the pool: closing the client closes its connections
        # The gateway resolves a token per request: those of one turn of the loop go as one MGET.
        self._lookups: Batched[str, str | None] = Batched(self._fetch)

    async def _fetch(self, keys: Sequence[str]) -> list[str | None]:
        values = await self._redis.mget(keys)  # one key or many: one round trip either way
        return [value if isinstance(value, str) else None for value in values]

    @property
    def client(self) -> aioredis.Redis:
        """The connection pool, for auth's other keys in the same Redis (login attempt counters)."""
        return self._redis

    async def get(self, token: str) -> str | None:
        return await self._lookups.load(token_key(token))

    async def set(self, token: str, user_id: str, ttl: int = TOKEN_TTL_SECONDS) -> None:
        await self._redis.set(token_key(token), user_id, ex=ttl)

    async def delete(self, token: str) -> None:
        await self._redis.delete(token_key(token))

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception as exc:  # noqa: BLE001 - any failure means "not alive"
            log.debug("redis ping failed: %r", exc)
            return False

    async def close(self) -> None:
        await self._redis.aclose()


class SqliteTokenStore:
    """Same semantics as the Redis keys: a row with no expiry never expires."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def get(self, token: str) -> str | None:
        rows = await fetch(
            self._conn,
            "SELECT value FROM tokens WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (token_key(token), time.time()),
        )
        row = rows[0] if rows else None
        return str(row[0]) if row is not None else None

    async def set(self, token: str, user_id: str, ttl: int = TOKEN_TTL_SECONDS) -> None:
        now = time.time()
        await self._conn.execute("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        await self._conn.execute(
            "INSERT OR REPLACE INTO tokens (key, value, expires_at) VALUES (?, ?, ?)",
            (token_key(token), user_id, now + ttl),
        )

    async def delete(self, token: str) -> None:
        await self._conn.execute("DELETE FROM tokens WHERE key = ?", (token_key(token),))

    async def ping(self) -> bool:
        return await sqlite_alive(self._conn)

    async def close(self) -> None:
        """The connection is the process's, closed by its owner."""


TOKENS_KEY = web.AppKey("tokens", TokenStore)


def setup_token_store(app: web.Application, engines: EngineSettings) -> Check:
    """Redis when configured, otherwise the SQLite file, for the app's life; return its readiness check."""
    redis_url = engines.redis_url
    select_engine(app, redis_url, FAILURES, engines.sqlite_path)

    async def open_(app: web.Application) -> TokenStore:
        if redis_url:
            return RedisTokenStore(redis_url)
        await apply_schema(app[SQLITE_KEY], SQLITE_SCHEMA)
        return SqliteTokenStore(app[SQLITE_KEY])

    return hold(app, TOKENS_KEY, open_)
