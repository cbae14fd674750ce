"""The metadata engine: MongoDB through PyMongo's async client, or the embedded SQLite file.

Each service keeps its own queries; this module only opens the engine and lays out what every
process of a deployment shares (the SQLite schema, the MongoDB indexes).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import EngineSettings

log = logging.getLogger(__name__)

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password TEXT
);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    is_public INTEGER,
    parent_id,
    local_path TEXT,
    size INTEGER,
    sha256 TEXT,
    mime_type TEXT,
    thumbnail TEXT,
    created_at REAL,
    updated_at REAL,
    deleted_at REAL,
    thumbnail_requests INTEGER,
    thumbnail_requested_at REAL
);
CREATE INDEX IF NOT EXISTS files_owner_parent ON files (user_id, parent_id);
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'ready',
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (queue, state, visible_at);
"""

# Columns added after a release: (table, column, declaration). A file made by an earlier version gets them
# with ALTER TABLE at start-up; several processes may race to add one, and the loser's "duplicate column"
# is the wanted outcome.
ADDED_COLUMNS = (
    ("files", "deleted_at", "REAL"),
    ("files", "thumbnail_requests", "INTEGER"),
    ("files", "thumbnail_requested_at", "REAL"),
)
LATE_INDEXES = "CREATE INDEX IF NOT EXISTS files_deleted ON files (deleted_at) WHERE deleted_at IS NOT NULL;"


async def _migrate(conn: aiosqlite.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in await fetch(conn, f"PRAGMA table_info({table})")}
        if column in present:
            continue
        try:
            await conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise
    await conn.executescript(LATE_INDEXES)


async def fetch(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[aiosqlite.Row]:
    """Run one statement to its end and return its rows, in a single hop to the connection's thread.

    With `execute()`, `fetchone()` and the cursor's close as separate hops, other coroutines' statements
    run while ours is still active, inside its implicit transaction: a write that lands in an open read
    snapshot then fails at once with `database is locked` (SQLITE_BUSY_SNAPSHOT; no busy timeout helps).
    """
    return list(await conn.execute_fetchall(sql, args))


async def open_sqlite(path: Path) -> aiosqlite.Connection:
    """One connection per process; WAL lets the four processes share the file, FULL sync keeps commits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=10.0)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA busy_timeout = 10000")
    # Four processes may open a new file at once; switching it to WAL can meet a lock the busy
    # handler does not wait on, so that step alone is retried.
    for attempt in range(50):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.executescript(SQLITE_SCHEMA)
            await _migrate(conn)
            break
        except sqlite3.OperationalError:
            if attempt == 49:
                await conn.close()
                raise
            await asyncio.sleep(0.1)
    await conn.execute("PRAGMA synchronous = FULL")
    return conn


async def sqlite_alive(conn: aiosqlite.Connection) -> bool:
    """The liveness probe of every store kept in the SQLite file (metadata, tokens, jobs)."""
    try:
        await conn.execute("SELECT 1")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not alive"
        log.debug("sqlite ping failed: %r", exc)
        return False


def mongo_client(url: str) -> AsyncMongoClient[dict[str, Any]]:
    # Short selection timeout: an outage must turn into a quick 503, not a 30 s hang.
    return AsyncMongoClient(url, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, tz_aware=False)


def mongo_database(client: AsyncMongoClient[dict[str, Any]], default: str) -> AsyncDatabase[dict[str, Any]]:
    return client.get_default_database(default=default)


async def ensure_mongo_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["users"].create_index([("email", ASCENDING)], unique=True, name="email_unique")
    await db["files"].create_index(
        [("userId", ASCENDING), ("parentId", ASCENDING), ("_id", ASCENDING)], name="owner_parent_id"
    )
    await db["files"].create_index([("deletedAt", ASCENDING)], name="deleted_at")


@dataclass
class Metadata:
    """The open metadata engine of one process: exactly one of `mongo` and `sqlite` is set."""

    mongo: AsyncDatabase[dict[str, Any]] | None = None
    sqlite: aiosqlite.Connection | None = None
    _client: AsyncMongoClient[dict[str, Any]] | None = None

    @property
    def engine(self) -> str:
        return "mongodb" if self.mongo is not None else "sqlite"

    async def ping(self) -> bool:
        if self.sqlite is not None:
            return await sqlite_alive(self.sqlite)
        try:
            assert self.mongo is not None
            await self.mongo.command("ping")
            return True
        except Exception as exc:  # noqa: BLE001 - any failure means "not alive"
            log.debug("metadata ping failed: %r", exc)
            return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self.sqlite is not None:
            await self.sqlite.close()


async def open_metadata(settings: EngineSettings) -> Metadata:
    if settings.mongo_url:
        client = mongo_client(settings.mongo_url)
        db = mongo_database(client, settings.mongo_database)
        metadata = Metadata(mongo=db, _client=client)
        try:
            await ensure_mongo_indexes(db)
        except Exception as exc:  # noqa: BLE001 - start degraded; /readyz reports it and requests get 503
            log.warning("MongoDB not reachable at start, indexes not ensured yet: %r", exc)
        return metadata
    return Metadata(sqlite=await open_sqlite(settings.sqlite_path))
