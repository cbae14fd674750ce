"""What the gateway reads of the metadata: whether a user exists, and the counts of /stats."""

from __future__ import annotations

from typing import Any, Protocol

import aiosqlite
from pymongo.asynchronous.database import AsyncDatabase

from shared.database import Metadata, fetch
from shared.ids import parse_object_id


class Directory(Protocol):
    async def user_exists(self, user_id: str) -> bool: ...
    async def count_users(self) -> int: ...
    async def count_files(self) -> int: ...


class MongoDirectory:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = db

    async def user_exists(self, user_id: str) -> bool:
        oid = parse_object_id(user_id)
        return oid is not None and await self._db["users"].find_one({"_id": oid}, {"_id": 1}) is not None

    async def count_users(self) -> int:
        return await self._db["users"].count_documents({})

    async def count_files(self) -> int:
        return await self._db["files"].count_documents({})


class SqliteDirectory:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _scalar(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        rows = await fetch(self._conn, sql, args)
        return int(rows[0][0]) if rows else 0

    async def user_exists(self, user_id: str) -> bool:
        return await self._scalar("SELECT COUNT(*) FROM users WHERE id = ?", (user_id.lower(),)) > 0

    async def count_users(self) -> int:
        return await self._scalar("SELECT COUNT(*) FROM users")

    async def count_files(self) -> int:
        return await self._scalar("SELECT COUNT(*) FROM files")


def directory(metadata: Metadata) -> Directory:
    if metadata.mongo is not None:
        return MongoDirectory(metadata.mongo)
    assert metadata.sqlite is not None
    return SqliteDirectory(metadata.sqlite)
