"""A per-owner lease on the folder tree, kept in the metadata store (ADR 6).

Moves and deletes change the shape of one owner's tree after reading it (is the target inside the moved
folder? which records lie under the deleted one?). Neither MongoDB without a replica set nor FerretDB has
multi-document transactions, so those read-then-write sequences hold this lease: one document (or row)
per owner, taken by a conditional single-document write, renewed while held, and expiring on its own if
its holder dies. Two structural changes of one owner's tree never interleave, in one process or many.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

import aiosqlite
from pymongo.errors import DuplicateKeyError

from shared.database import Metadata, MetadataSchema, MongoDatabase
from shared.errors import UnavailableError
from shared.sqlite import SqliteSchema, fetch

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0  # how long a dead holder blocks its owner's tree (TREE_LEASE_SECONDS)
WAIT_SECONDS = 20.0  # how long a request waits for a busy tree before 503


async def _no_mongo_index(db: MongoDatabase) -> None:
    """`treeLeases` is keyed by `_id` alone."""


SCHEMA = MetadataSchema(
    sqlite=SqliteSchema(
        """
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""
    ),
    mongo=_no_mongo_index,
)


class LeaseStore(Protocol):
    async def acquire(self, key: str, holder: str, now: float, ttl: float) -> bool: ...
    async def renew(self, key: str, holder: str, now: float, ttl: float) -> bool: ...
    async def release(self, key: str, holder: str) -> None: ...


def _date(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


class MongoLeaseStore:
    def __init__(self, db: MongoDatabase) -> None:
        self._leases = db["treeLeases"]

    async def acquire(self, key: str, holder: str, now: float, ttl: float) -> bool:
        # Matches only an expired lease; when none matches the upsert inserts `_id: key`, which fails
        # with a duplicate key while a live lease exists. Either way one writer wins.
        try:
            await self._leases.update_one(
                {"_id": key, "expiresAt": {"$lt": _date(now)}},
                {"$set": {"holder": holder, "expiresAt": _date(now + ttl)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def renew(self, key: str, holder: str, now: float, ttl: float) -> bool:
        result = await self._leases.update_one(
            {"_id": key, "holder": holder}, {"$set": {"expiresAt": _date(now + ttl)}}
        )
        return result.matched_count == 1

    async def release(self, key: str, holder: str) -> None:
        await self._leases.delete_one({"_id": key, "holder": holder})


class SqliteLeaseStore:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def acquire(self, key: str, holder: str, now: float, ttl: float) -> bool:
        rows = await fetch(
            self._conn,
            "INSERT INTO leases (key, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.expires_at < ? RETURNING holder",
            (key, holder, now + ttl, now),
        )
        return bool(rows) and rows[0][0] == holder

    async def renew(self, key: str, holder: str, now: float, ttl: float) -> bool:
        sql = "UPDATE leases SET expires_at = ? WHERE key = ? AND holder = ? RETURNING key"
        return bool(await fetch(self._conn, sql, (now + ttl, key, holder)))

    async def release(self, key: str, holder: str) -> None:
        await self._conn.execute("DELETE FROM leases WHERE key = ? AND holder = ?", (key, holder))


def lease_store(metadata: Metadata) -> LeaseStore:
    if metadata.mongo is not None:
        return MongoLeaseStore(metadata.mongo)
    assert metadata.sqlite is not None
    return SqliteLeaseStore(metadata.sqlite)


class LeaseLostError(UnavailableError):
    """The lease expired under its holder (a stalled process): the change is abandoned, not half made."""

    def __init__(self) -> None:
        super().__init__("Folder tree busy, try again")


class Held:
    """A held lease; `check()` before each write that relies on it."""

    def __init__(self) -> None:
        self.lost = False

    def check(self) -> None:
        if self.lost:
            raise LeaseLostError()


class TreeLeases:
    def __init__(self, store: LeaseStore, ttl: float = LEASE_SECONDS, wait: float = WAIT_SECONDS) -> None:
        self._store = store
        self._ttl = ttl
        self._wait = wait

    @contextlib.asynccontextmanager
    async def hold(self, owner: str) -> AsyncIterator[Held]:
        key, holder = f"tree:{owner.lower()}", uuid.uuid4().hex
        deadline = time.monotonic() + self._wait
        pause = 0.005
        while not await self._store.acquire(key, holder, time.time(), self._ttl):
            if time.monotonic() > deadline:
                raise UnavailableError("Folder tree busy, try again")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)
        held = Held()
        renewer = asyncio.create_task(self._renew(key, holder, held), name="tree-lease-renewal")
        try:
            yield held
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            try:
                await asyncio.shield(self._store.release(key, holder))
            except Exception as exc:  # noqa: BLE001 - it expires on its own
                log.warning("tree lease %s not released (it expires in %.0fs): %r", key, self._ttl, exc)

    async def _renew(self, key: str, holder: str, held: Held) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                renewed = await self._store.renew(key, holder, time.time(), self._ttl)
            except Exception as exc:  # noqa: BLE001 - try again; the lease outlives two failed renewals
                log.warning("tree lease %s not renewed: %r", key, exc)
                continue
            if not renewed:
                log.error("tree lease %s lost to expiry", key)
                held.lost = True
                return
