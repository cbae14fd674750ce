"""The metadata engine of a service that keeps records: MongoDB through PyMongo's async client, or the
embedded SQLite file.

It knows no collection. The owner of the data brings its schema (`MetadataSchema`: its SQLite tables and
its MongoDB indexes) and its own queries; auth opens it for users, files for file records and leases.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import pymongo.errors
from aiohttp import web
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.batching import Batched
from shared.health import Check, hold
from shared.ids import is_object_id
from shared.settings import EngineSettings
from shared.sqlite import SQLITE_KEY, SqliteSchema, apply_schema, open_sqlite, select_engine, sqlite_alive

log = logging.getLogger(__name__)

MongoDatabase = AsyncDatabase[dict[str, Any]]

# The driver's errors that mean "MongoDB does not answer" (503), as opposed to a refused operation.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    pymongo.errors.ConnectionFailure,  # NotPrimaryError and NetworkTimeout among them
    pymongo.errors.ServerSelectionTimeoutError,
)
OUT_OF_DISK_SPACE = 14031  # MongoDB's OutOfDiskSpace
# How a full disk reads when a server reports it only in words (WiredTiger's errno text; FerretDB passes on
# its SQLite backend's message).
DISK_FULL_WORDS = ("no space left on device", "database or disk is full")


def failure_status(exc: BaseException) -> int | None:
    """503 for an unreachable server, 507 for a full disk; anything else the server refused is our bug."""
    if isinstance(exc, UNAVAILABLE):
        return 503
    if isinstance(exc, pymongo.errors.OperationFailure):
        message = str(exc).lower()
        if exc.code == OUT_OF_DISK_SPACE or any(words in message for words in DISK_FULL_WORDS):
            return 507
    return None


def parse_object_id(value: object) -> ObjectId | None:
    return ObjectId(value) if isinstance(value, str) and is_object_id(value) else None


class OrderedIds:
    """ObjectIds in the order they were made, across the processes of a machine (gunicorn's workers).

    The contract lists a folder in insertion order, `_id` ascending. A driver's ObjectId is 4 bytes of
    seconds, 5 random bytes fixed per process and a 3-byte counter: within one second, two workers' ids
    sort by their random bytes, not by when they were made, so a listing could put a newer file first.
    Here the first 3 of those 5 bytes are the fraction of the second (units of 1/2**24 s, about 60 ns):
    ids sort by time to well under a request's duration, then per process by counter. Still unique:
    two ids collide only with the same tick, the same 2 random bytes and the same counter value. Still
    an ObjectId to every reader (the seconds are where drivers read a creation time). A clock stepped
    back can order a few ids out of creation order; never a duplicate.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._process = b""
        self._counter = itertools.count()

    def __call__(self) -> ObjectId:
        if self._pid != os.getpid():  # a forked worker draws its own bytes
            self._pid = os.getpid()
            self._process = secrets.token_bytes(2)
            self._counter = itertools.count(secrets.randbelow(1 << 24))
        seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
        tick = (nanoseconds << 24) // 1_000_000_000
        count = next(self._counter) & 0xFFFFFF  # itertools.count: atomic under threads
        head = (seconds & 0xFFFFFFFF).to_bytes(4, "big") + tick.to_bytes(3, "big")
        return ObjectId(head + self._process + count.to_bytes(3, "big"))


ordered_id = OrderedIds()


def batched_by_id(
    collection: AsyncCollection[dict[str, Any]], condition: dict[str, Any] | None = None
) -> Batched[ObjectId, dict[str, Any] | None]:
    """Reads of `collection` by `_id` (and `condition`) that arrive in one turn of the loop, as one query
    (shared/batching.py): the single-key `find_one` it always was, or one `$in` for several."""
    extra = condition or {}

    async def fetch(oids: Sequence[ObjectId]) -> list[dict[str, Any] | None]:
        if len(oids) == 1:
            return [await collection.find_one({"_id": oids[0], **extra})]
        found = {doc["_id"]: doc async for doc in collection.find({"_id": {"$in": list(oids)}, **extra})}
        return [found.get(oid) for oid in oids]

    return Batched(fetch)


def new_id() -> str:
    """A new record id: an ObjectId, as the contract's documents have, whichever engine stores it, in the
    order ids are made (OrderedIds)."""
    return str(ordered_id())


@dataclass(frozen=True)
class MetadataSchema:
    """What one owner lays out: its SQLite tables, and the MongoDB indexes of its collections."""

    sqlite: SqliteSchema
    mongo: Callable[[MongoDatabase], Awaitable[None]]


def mongo_client(url: str) -> AsyncMongoClient[dict[str, Any]]:
    # Short selection timeout: an outage must turn into a quick 503, not a 30 s hang.
    return AsyncMongoClient(url, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, tz_aware=False)


@dataclass
class Metadata:
    """The open metadata engine of one process: exactly one of `mongo` and `sqlite` is set."""

    mongo: MongoDatabase | None = None
    sqlite: aiosqlite.Connection | None = None
    _client: AsyncMongoClient[dict[str, Any]] | None = None
    _owns_sqlite: bool = field(default=False)

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
        if self.sqlite is not None and self._owns_sqlite:
            await self.sqlite.close()


async def _open_mongo(url: str, database: str, schemas: tuple[MetadataSchema, ...]) -> Metadata:
    client = mongo_client(url)
    db = client.get_default_database(default=database)
    try:
        for schema in schemas:
            await schema.mongo(db)
    except Exception as exc:  # noqa: BLE001 - start degraded; /readyz reports it and requests get 503
        log.warning("MongoDB not reachable at start, indexes not ensured yet: %r", exc)
    return Metadata(mongo=db, _client=client)


async def open_metadata(settings: EngineSettings, *schemas: MetadataSchema) -> Metadata:
    """A metadata engine with its own connection (tools and tests; services use `setup_metadata`)."""
    if settings.mongo_url:
        return await _open_mongo(settings.mongo_url, settings.mongo_database, schemas)
    conn = await open_sqlite(settings.sqlite_path, *(schema.sqlite for schema in schemas))
    return Metadata(sqlite=conn, _owns_sqlite=True)


METADATA_KEY = web.AppKey("metadata", Metadata)


def setup_metadata(app: web.Application, engines: EngineSettings, *schemas: MetadataSchema) -> Check:
    """Open the metadata engine for the app's life with the owner's `schemas`; return its readiness check.
    Call it before adding cleanup contexts that use it."""
    mongo_url = engines.mongo_url
    select_engine(app, mongo_url, failure_status, engines.sqlite_path)

    async def open_(app: web.Application) -> Metadata:
        if mongo_url:
            return await _open_mongo(mongo_url, engines.mongo_database, schemas)
        for schema in schemas:
            await apply_schema(app[SQLITE_KEY], schema.sqlite)
        return Metadata(sqlite=app[SQLITE_KEY])

    return hold(app, METADATA_KEY, open_)
