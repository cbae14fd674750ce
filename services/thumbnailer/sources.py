"""Reading the image a job names, and recording the thumbnail state on its document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite
from pymongo.asynchronous.database import AsyncDatabase

from shared.database import Metadata, fetch
from shared.ids import parse_object_id


@dataclass(frozen=True)
class Source:
    file_id: str
    local_path: str | None
    type: str


class Sources(Protocol):
    async def find(self, file_id: str, user_id: str) -> Source | None: ...
    async def mark(self, file_id: str, state: str) -> None: ...


class MongoSources:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._files = db["files"]

    async def find(self, file_id: str, user_id: str) -> Source | None:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        if oid is None or owner is None:
            return None
        doc = await self._files.find_one({"_id": oid, "userId": owner, "deletedAt": None})
        return Source(str(doc["_id"]), doc.get("localPath"), str(doc.get("type"))) if doc else None

    async def mark(self, file_id: str, state: str) -> None:
        oid = parse_object_id(file_id)
        if oid is not None:
            await self._files.update_one({"_id": oid, "deletedAt": None}, {"$set": {"thumbnail": state}})


class SqliteSources:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def find(self, file_id: str, user_id: str) -> Source | None:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        if oid is None or owner is None:
            return None
        rows = await fetch(
            self._conn,
            "SELECT id, local_path, type FROM files WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
            (str(oid), str(owner)),
        )
        row = rows[0] if rows else None
        return Source(row["id"], row["local_path"], row["type"]) if row else None

    async def mark(self, file_id: str, state: str) -> None:
        await self._conn.execute(
            "UPDATE files SET thumbnail = ? WHERE id = ? AND deleted_at IS NULL", (state, file_id.lower())
        )


def sources(metadata: Metadata) -> Sources:
    if metadata.mongo is not None:
        return MongoSources(metadata.mongo)
    assert metadata.sqlite is not None
    return SqliteSources(metadata.sqlite)
