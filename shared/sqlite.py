"""The embedded engine: one SQLite file per deployment, one connection per process.

This module knows no table. Each owner brings its own schema (auth: users; files: files and leases; the
token store: tokens; the job queue: jobs) and applies it on the connection when it opens its adapter, so a
process creates only the tables of what it runs.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from aiohttp import web

from shared.errors import ENGINE_WAIT_SECONDS, FailureRule, add_failure_rule

log = logging.getLogger(__name__)

_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def failure_status(exc: BaseException) -> int | None:
    """A file locked past the busy timeout is unavailable for now (503); a full disk (or a reached
    max_page_count) is 507. Every other SQLite error (no such table, a bad statement) is our bug."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF  # extended codes carry the primary one in their low byte
    if primary == sqlite3.SQLITE_FULL:
        return 507
    if primary in _BUSY_CODES:
        return 503
    return None


SQLITE_KEY = web.AppKey("sqlite", aiosqlite.Connection)
_PATH_KEY = web.AppKey("sqlite_path", Path)


@dataclass(frozen=True)
class SqliteSchema:
    """One owner's tables. `added_columns` are (table, column, declaration) added after a release: a file
    made by an earlier version gets them with ALTER TABLE; `late_script` runs after them (indexes on them)."""

    script: str
    added_columns: tuple[tuple[str, str, str], ...] = ()
    late_script: str = ""


async def fetch(conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[aiosqlite.Row]:
    """Run one statement to its end and return its rows, in a single hop to the connection's thread.

    With `execute()`, `fetchone()` and the cursor's close as separate hops, other coroutines' statements
    run while ours is still active, inside its implicit transaction: a write that lands in an open read
    snapshot then fails at once with `database is locked` (SQLITE_BUSY_SNAPSHOT; no busy timeout helps).
    """
    return list(await conn.execute_fetchall(sql, args))


async def _add_columns(conn: aiosqlite.Connection, schema: SqliteSchema) -> None:
    for table, column, declaration in schema.added_columns:
        # table_xinfo, unlike table_info, lists generated columns too.
        present = {row[1] for row in await fetch(conn, f"PRAGMA table_xinfo({table})")}
        if column in present:
            continue
        try:
            await conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError as exc:
            # Several processes may race to add one; the loser's "duplicate column" is the wanted outcome.
            if "duplicate column" not in str(exc):
                raise


async def apply_schema(conn: aiosqlite.Connection, schema: SqliteSchema) -> None:
    """Create what is missing. Processes starting at once may meet a lock the busy handler does not wait
    on (a schema change racing a WAL switch), so the step is retried."""
    for attempt in range(50):
        try:
            await conn.executescript(schema.script)
            await _add_columns(conn, schema)
            if schema.late_script:
                await conn.executescript(schema.late_script)
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.1)


async def open_sqlite(path: Path, *schemas: SqliteSchema) -> aiosqlite.Connection:
    """WAL lets the processes of one machine share the file; FULL sync keeps every commit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=ENGINE_WAIT_SECONDS)
    conn.row_factory = aiosqlite.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(ENGINE_WAIT_SECONDS * 1000)}")
        for attempt in range(50):
            try:
                await conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
        await conn.execute("PRAGMA synchronous = FULL")
        for schema in schemas:
            await apply_schema(conn, schema)
    except BaseException:
        await conn.close()
        raise
    return conn


async def sqlite_alive(conn: aiosqlite.Connection) -> bool:
    """The liveness probe of every adapter kept in the SQLite file."""
    try:
        await conn.execute("SELECT 1")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not alive"
        log.debug("sqlite ping failed: %r", exc)
        return False


def select_engine(app: web.Application, url: str | None, failures: FailureRule, sqlite_path: Path) -> None:
    """An adapter's engine: the production one at `url` when it is configured (its driver's `failures` rule
    then says which of its exceptions are a 503 or a 507), otherwise the embedded file."""
    if url:
        add_failure_rule(app, failures)
    else:
        setup_sqlite(app, sqlite_path)


def setup_sqlite(app: web.Application, path: Path) -> None:
    """Open the process's one connection to the file (once, however many adapters ask) in a cleanup_ctx
    added now, so before the adapters' own; they read it from `app[SQLITE_KEY]`."""
    if _PATH_KEY in app:
        return
    app[_PATH_KEY] = path
    add_failure_rule(app, failure_status)

    async def sqlite_ctx(app: web.Application) -> AsyncIterator[None]:
        app[SQLITE_KEY] = await open_sqlite(path)
        yield
        await app[SQLITE_KEY].close()

    app.cleanup_ctx.append(sqlite_ctx)
