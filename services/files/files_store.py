"""The `files` collection: MongoDB documents as in the contract, or rows of the SQLite file.

`parent_id` keeps the stored value's type: the number 0 or the string "0" for root, a 24-hex string
for a folder. Both root spellings are read as root.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.database import Metadata
from shared.ids import parse_object_id

ROOT_VALUES: tuple[int, str] = (0, "0")
PAGE_SIZE = 20


def is_root(parent_id: object) -> bool:
    return parent_id in ROOT_VALUES and not isinstance(parent_id, bool)


@dataclass
class FileRecord:
    id: str
    user_id: str
    name: str
    type: str
    is_public: bool
    parent_id: int | str
    local_path: str | None = None
    size: int | None = None
    sha256: str | None = None
    thumbnail: str | None = None
    created_at: float | None = field(default=None)


class FileStore(Protocol):
    async def insert(self, record: FileRecord) -> None: ...
    async def get(self, file_id: str) -> FileRecord | None: ...
    async def get_owned(self, file_id: str, user_id: str) -> FileRecord | None: ...
    async def list_children(self, user_id: str, parent_id: str, page: int) -> list[FileRecord]: ...
    async def set_public(self, file_id: str, user_id: str, is_public: bool) -> FileRecord | None: ...
    async def stale_thumbnails(self, older_than: float, limit: int) -> list[FileRecord]: ...
    async def delete(self, file_id: str) -> None: ...


def _parent_from_doc(value: Any) -> int | str:
    if isinstance(value, ObjectId):
        return str(value)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool) and value == 0):
        return 0
    return str(value)


def _record_from_doc(doc: dict[str, Any]) -> FileRecord:
    created = doc.get("createdAt")
    return FileRecord(
        id=str(doc["_id"]),
        user_id=str(doc.get("userId", "")),
        name=str(doc.get("name", "")),
        type=str(doc.get("type", "")),
        is_public=doc.get("isPublic") is True,
        parent_id=_parent_from_doc(doc.get("parentId", 0)),
        local_path=doc.get("localPath"),
        size=doc.get("size"),
        sha256=doc.get("sha256"),
        thumbnail=doc.get("thumbnail"),
        created_at=created.replace(tzinfo=UTC).timestamp() if isinstance(created, datetime) else None,
    )


class MongoFileStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._files = db["files"]

    async def insert(self, record: FileRecord) -> None:
        doc: dict[str, Any] = {
            "_id": ObjectId(record.id),
            "userId": ObjectId(record.user_id),
            "name": record.name,
            "type": record.type,
            "isPublic": record.is_public,
            "parentId": 0 if is_root(record.parent_id) else ObjectId(str(record.parent_id)),
        }
        if record.local_path is not None:
            doc.update(localPath=record.local_path, size=record.size, sha256=record.sha256)
        if record.thumbnail is not None:
            doc["thumbnail"] = record.thumbnail
        doc["createdAt"] = datetime.fromtimestamp(record.created_at or time.time(), UTC).replace(tzinfo=None)
        await self._files.insert_one(doc)

    async def get(self, file_id: str) -> FileRecord | None:
        oid = parse_object_id(file_id)
        doc = await self._files.find_one({"_id": oid}) if oid else None
        return _record_from_doc(doc) if doc else None

    async def get_owned(self, file_id: str, user_id: str) -> FileRecord | None:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        doc = await self._files.find_one({"_id": oid, "userId": owner}) if oid and owner else None
        return _record_from_doc(doc) if doc else None

    async def list_children(self, user_id: str, parent_id: str, page: int) -> list[FileRecord]:
        owner = parse_object_id(user_id)
        if owner is None:
            return []
        if is_root(parent_id):
            parent_match: dict[str, Any] = {"$in": [0, "0"]}
        else:
            oid = parse_object_id(parent_id)
            if oid is None:
                return []
            parent_match = {"$in": [oid, str(oid)]}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"userId": owner, "parentId": parent_match}},
            {"$sort": {"_id": 1}},
            {"$skip": page * PAGE_SIZE},
            {"$limit": PAGE_SIZE},
        ]
        cursor = await self._files.aggregate(pipeline)
        return [_record_from_doc(doc) async for doc in cursor]

    async def set_public(self, file_id: str, user_id: str, is_public: bool) -> FileRecord | None:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        if oid is None or owner is None:
            return None
        doc = await self._files.find_one_and_update(
            {"_id": oid, "userId": owner}, {"$set": {"isPublic": is_public}}, return_document=ReturnDocument.AFTER
        )
        return _record_from_doc(doc) if doc else None

    async def stale_thumbnails(self, older_than: float, limit: int) -> list[FileRecord]:
        cutoff = datetime.fromtimestamp(older_than, UTC).replace(tzinfo=None)
        cursor = self._files.find({"type": "image", "thumbnail": "pending", "createdAt": {"$lt": cutoff}}).limit(limit)
        return [_record_from_doc(doc) async for doc in cursor]

    async def delete(self, file_id: str) -> None:
        await self._files.delete_one({"_id": ObjectId(file_id)})


_COLUMNS = "id, user_id, name, type, is_public, parent_id, local_path, size, sha256, thumbnail, created_at"


def _record_from_row(row: aiosqlite.Row) -> FileRecord:
    parent = row["parent_id"]
    return FileRecord(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        type=row["type"],
        is_public=bool(row["is_public"]),
        parent_id=0 if parent is None else parent,
        local_path=row["local_path"],
        size=row["size"],
        sha256=row["sha256"],
        thumbnail=row["thumbnail"],
        created_at=row["created_at"],
    )


class SqliteFileStore:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, args: tuple[Any, ...]) -> FileRecord | None:
        async with self._conn.execute(sql, args) as cursor:
            row = await cursor.fetchone()
        return _record_from_row(row) if row else None

    async def insert(self, record: FileRecord) -> None:
        parent: int | str = 0 if is_root(record.parent_id) else str(record.parent_id).lower()
        await self._conn.execute(
            f"INSERT INTO files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.user_id,
                record.name,
                record.type,
                int(record.is_public),
                parent,
                record.local_path,
                record.size,
                record.sha256,
                record.thumbnail,
                record.created_at or time.time(),
            ),
        )

    async def get(self, file_id: str) -> FileRecord | None:
        oid = parse_object_id(file_id)
        return await self._one(f"SELECT {_COLUMNS} FROM files WHERE id = ?", (str(oid),)) if oid else None

    async def get_owned(self, file_id: str, user_id: str) -> FileRecord | None:
        oid = parse_object_id(file_id)
        if oid is None:
            return None
        return await self._one(
            f"SELECT {_COLUMNS} FROM files WHERE id = ? AND user_id = ?",
            (str(oid), user_id.lower()),
        )

    async def list_children(self, user_id: str, parent_id: str, page: int) -> list[FileRecord]:
        if is_root(parent_id):
            where, args = "parent_id IN (0, '0')", ()
        else:
            oid = parse_object_id(parent_id)
            if oid is None:
                return []
            where, args = "parent_id = ?", (str(oid),)
        sql = f"SELECT {_COLUMNS} FROM files WHERE user_id = ? AND {where} ORDER BY rowid LIMIT ? OFFSET ?"
        async with self._conn.execute(sql, (user_id.lower(), *args, PAGE_SIZE, page * PAGE_SIZE)) as cursor:
            return [_record_from_row(row) for row in await cursor.fetchall()]

    async def set_public(self, file_id: str, user_id: str, is_public: bool) -> FileRecord | None:
        oid = parse_object_id(file_id)
        if oid is None:
            return None
        async with self._conn.execute(
            f"UPDATE files SET is_public = ? WHERE id = ? AND user_id = ? RETURNING {_COLUMNS}",
            (int(is_public), str(oid), user_id.lower()),
        ) as cursor:
            row = await cursor.fetchone()
        return _record_from_row(row) if row else None

    async def stale_thumbnails(self, older_than: float, limit: int) -> list[FileRecord]:
        async with self._conn.execute(
            f"SELECT {_COLUMNS} FROM files WHERE type = 'image' AND thumbnail = 'pending' AND created_at < ? LIMIT ?",
            (older_than, limit),
        ) as cursor:
            return [_record_from_row(row) for row in await cursor.fetchall()]

    async def delete(self, file_id: str) -> None:
        await self._conn.execute("DELETE FROM files WHERE id = ?", (file_id,))


def file_store(metadata: Metadata) -> FileStore:
    if metadata.mongo is not None:
        return MongoFileStore(metadata.mongo)
    assert metadata.sqlite is not None
    return SqliteFileStore(metadata.sqlite)
