"""The `files` collection, owned by the files service: MongoDB documents as in the contract, or rows of
the SQLite file.

`parent_id` keeps the stored value's type: the number 0 or the string "0" for root, a 24-hex string
for a folder. Both root spellings are read as root.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite
from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from shared.database import Metadata, MetadataSchema, MongoDatabase, batched_by_id, parse_object_id
from shared.sqlite import SqliteSchema, fetch

ROOT_VALUES: tuple[int, str] = (0, "0")
PAGE_SIZE = 20  # the contract's page size


PARENT_KEY_SQL = "CASE WHEN parent_id IS NULL OR parent_id IN (0, '0') THEN 0 ELSE parent_id END"


async def _mongo_indexes(db: MongoDatabase) -> None:
    await db["files"].create_index(
        [("userId", ASCENDING), ("parentId", ASCENDING), ("_id", ASCENDING)], name="owner_parent_id"
    )
    await db["files"].create_index([("deletedAt", ASCENDING)], name="deleted_at")
    # The upkeep's search for images still `pending`: only images carry the field.
    await db["files"].create_index([("thumbnail", ASCENDING)], name="thumbnail", sparse=True)


SCHEMA = MetadataSchema(
    sqlite=SqliteSchema(
        """
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
""",
        # Added after the first release: a file made by it gets them at start-up.
        added_columns=(
            ("files", "deleted_at", "REAL"),
            ("files", "thumbnail_requests", "INTEGER"),
            ("files", "thumbnail_requested_at", "REAL"),
            # The parent with both root spellings (and none) read as 0: one value per folder, so that one
            # index range serves a listing in rowid order, with no sort and no merge (ADR 8). `parent_id`
            # keeps the value as stored, which reads echo.
            ("files", "parent_key", f"GENERATED ALWAYS AS ({PARENT_KEY_SQL}) VIRTUAL"),
        ),
        late_script="""
CREATE INDEX IF NOT EXISTS files_deleted ON files (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_owner_parent_live ON files (user_id, parent_key, deleted_at);
CREATE INDEX IF NOT EXISTS files_pending_thumbnails ON files (COALESCE(thumbnail_requested_at, created_at))
    WHERE type = 'image' AND thumbnail = 'pending' AND deleted_at IS NULL;
DROP INDEX IF EXISTS files_owner_parent;
""",
    ),
    mongo=_mongo_indexes,
)


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
    created_at: float | None = None
    updated_at: float | None = None
    deleted_at: float | None = None  # set: being deleted, invisible to every read (ADR 6)
    thumbnail_requests: int = 0  # thumbnail jobs published for this image so far


@dataclass(frozen=True)
class Changes:
    """A rename and/or a move; None leaves the field as it is."""

    name: str | None = None
    parent_id: int | str | None = None


class FileStore(Protocol):
    """Every read but `children` and `scan` sees live records only: a record marked deleted is gone."""

    async def insert(self, record: FileRecord) -> None: ...
    async def get(self, file_id: str) -> FileRecord | None: ...
    async def get_owned(self, file_id: str, user_id: str) -> FileRecord | None: ...
    async def list_children(self, user_id: str, parent_id: str, page: int) -> list[FileRecord]: ...
    async def children(self, user_id: str, parent_id: str) -> list[FileRecord]:
        """Every child, marked ones included: what a delete must reach."""
        ...

    async def set_public(self, file_id: str, user_id: str, is_public: bool) -> FileRecord | None: ...
    async def update(self, file_id: str, user_id: str, changes: Changes) -> FileRecord | None: ...
    async def mark_deleted(self, file_ids: list[str], at: float) -> None: ...
    async def marked(self, limit: int) -> list[FileRecord]: ...
    async def delete_many(self, file_ids: list[str]) -> None: ...
    async def stale_thumbnails(self, older_than: float, limit: int) -> list[FileRecord]: ...
    async def claim_thumbnail_request(self, file_id: str, older_than: float, now: float) -> int | None:
        """Count one more job for a live image still pending since before `older_than`; None if another
        process claimed it first (or it is no longer pending)."""
        ...

    async def unclaim_thumbnail_request(self, file_id: str) -> None:
        """Take back one count: its job never reached the queue (the broker was down)."""
        ...

    async def fail_thumbnail(self, file_id: str) -> bool: ...
    async def set_thumbnail(self, file_id: str, user_id: str, state: str) -> bool:
        """Record a job's outcome on a live record of `user_id`; False if there is none."""
        ...

    async def relocate(self, file_id: str, old: str, new: str) -> bool:
        """Point a live record's localPath from `old` to `new`, only if it is still `old` and the record
        still live (a compare-and-set: a delete or another move that came first wins)."""
        ...

    async def count(self) -> int:
        """Live records of every owner."""
        ...

    def scan(self) -> AsyncIterator[FileRecord]:
        """Every record of every owner, marked ones included (the checker's view)."""
        ...


def _parent_from_doc(value: Any) -> int | str:
    if isinstance(value, ObjectId):
        return str(value)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool) and value == 0):
        return 0
    return str(value)


_NAIVE_EPOCH = datetime(1970, 1, 1)


def _to_epoch(value: Any) -> float | None:
    # PyMongo reads naive UTC datetimes; subtracting the epoch is exact and 5x cheaper than .timestamp().
    if not isinstance(value, datetime):
        return None
    return (value.replace(tzinfo=None) - _NAIVE_EPOCH).total_seconds()


def _to_date(epoch: float) -> datetime:
    # PyMongo stores naive datetimes as UTC, to the millisecond.
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _record_from_doc(doc: dict[str, Any]) -> FileRecord:
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
        created_at=_to_epoch(doc.get("createdAt")),
        updated_at=_to_epoch(doc.get("updatedAt")),
        deleted_at=_to_epoch(doc.get("deletedAt")),
        thumbnail_requests=int(doc.get("thumbnailRequests") or 0),
    )


LIVE: dict[str, Any] = {"deletedAt": None}  # matches documents without the field too (an original's)


def _mongo_parent(parent_id: int | str) -> Any:
    return 0 if is_root(parent_id) else ObjectId(str(parent_id))


def _mongo_parent_match(parent_id: str) -> Any | None:
    if is_root(parent_id):
        return {"$in": [0, "0"]}
    oid = parse_object_id(parent_id)
    return {"$in": [oid, str(oid)]} if oid else None


class MongoFileStore:
    def __init__(self, db: MongoDatabase) -> None:
        self._files = db["files"]
        self._live = batched_by_id(self._files, LIVE)  # the reads by id of one turn of the loop, in one query

    async def insert(self, record: FileRecord) -> None:
        now = record.created_at or time.time()
        doc: dict[str, Any] = {
            "_id": ObjectId(record.id),
            "userId": ObjectId(record.user_id),
            "name": record.name,
            "type": record.type,
            "isPublic": record.is_public,
            "parentId": _mongo_parent(record.parent_id),
        }
        if record.local_path is not None:
            doc.update(localPath=record.local_path, size=record.size, sha256=record.sha256)
        if record.thumbnail is not None:
            doc.update(thumbnail=record.thumbnail, thumbnailRequests=record.thumbnail_requests)
            doc["thumbnailRequestedAt"] = _to_date(now)
        doc.update(createdAt=_to_date(now), updatedAt=_to_date(record.updated_at or now))
        await self._files.insert_one(doc)

    async def get(self, file_id: str) -> FileRecord | None:
        oid = parse_object_id(file_id)
        doc = await self._live.load(oid) if oid else None
        return _record_from_doc(doc) if doc else None

    async def get_owned(self, file_id: str, user_id: str) -> FileRecord | None:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        doc = await self._live.load(oid) if oid and owner else None
        # The owner compared as the query `{"userId": owner}` would: an ObjectId equals only an ObjectId.
        return _record_from_doc(doc) if doc and doc.get("userId") == owner else None

    async def list_children(self, user_id: str, parent_id: str, page: int) -> list[FileRecord]:
        owner, parent_match = parse_object_id(user_id), _mongo_parent_match(parent_id)
        if owner is None or parent_match is None:
            return []
        pipeline: list[dict[str, Any]] = [
            {"$match": {"userId": owner, "parentId": parent_match, **LIVE}},
            {"$sort": {"_id": 1}},
            {"$skip": page * PAGE_SIZE},
            {"$limit": PAGE_SIZE},
        ]
        cursor = await self._files.aggregate(pipeline)
        return [_record_from_doc(doc) async for doc in cursor]

    async def children(self, user_id: str, parent_id: str) -> list[FileRecord]:
        owner, parent_match = parse_object_id(user_id), _mongo_parent_match(parent_id)
        if owner is None or parent_match is None:
            return []
        cursor = self._files.find({"userId": owner, "parentId": parent_match})
        return [_record_from_doc(doc) async for doc in cursor]

    async def _update_owned(self, file_id: str, user_id: str, fields: dict[str, Any]) -> FileRecord | None:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        if oid is None or owner is None:
            return None
        doc = await self._files.find_one_and_update(
            {"_id": oid, "userId": owner, **LIVE},
            {"$set": {**fields, "updatedAt": _to_date(time.time())}},
            return_document=ReturnDocument.AFTER,
        )
        return _record_from_doc(doc) if doc else None

    async def set_public(self, file_id: str, user_id: str, is_public: bool) -> FileRecord | None:
        return await self._update_owned(file_id, user_id, {"isPublic": is_public})

    async def update(self, file_id: str, user_id: str, changes: Changes) -> FileRecord | None:
        fields: dict[str, Any] = {}
        if changes.name is not None:
            fields["name"] = changes.name
        if changes.parent_id is not None:
            fields["parentId"] = _mongo_parent(changes.parent_id)
        return await self._update_owned(file_id, user_id, fields)

    async def mark_deleted(self, file_ids: list[str], at: float) -> None:
        for start in range(0, len(file_ids), 500):
            batch = [ObjectId(i) for i in file_ids[start : start + 500]]
            await self._files.update_many({"_id": {"$in": batch}, **LIVE}, {"$set": {"deletedAt": _to_date(at)}})

    async def marked(self, limit: int) -> list[FileRecord]:
        cursor = self._files.find({"deletedAt": {"$ne": None}}).limit(limit)
        return [_record_from_doc(doc) async for doc in cursor]

    async def delete_many(self, file_ids: list[str]) -> None:
        for start in range(0, len(file_ids), 500):
            batch = [ObjectId(i) for i in file_ids[start : start + 500]]
            await self._files.delete_many({"_id": {"$in": batch}})

    @staticmethod
    def _stale(older_than: float) -> dict[str, Any]:
        cutoff = _to_date(older_than)
        return {
            "type": "image",
            "thumbnail": "pending",
            **LIVE,
            "$or": [
                {"thumbnailRequestedAt": {"$lt": cutoff}},
                {"thumbnailRequestedAt": None, "createdAt": {"$lt": cutoff}},
            ],
        }

    async def stale_thumbnails(self, older_than: float, limit: int) -> list[FileRecord]:
        cursor = self._files.find(self._stale(older_than)).limit(limit)
        return [_record_from_doc(doc) async for doc in cursor]

    async def claim_thumbnail_request(self, file_id: str, older_than: float, now: float) -> int | None:
        doc = await self._files.find_one_and_update(
            {"_id": ObjectId(file_id), **self._stale(older_than)},
            {"$inc": {"thumbnailRequests": 1}, "$set": {"thumbnailRequestedAt": _to_date(now)}},
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["thumbnailRequests"]) if doc else None

    async def unclaim_thumbnail_request(self, file_id: str) -> None:
        await self._files.update_one(
            {"_id": ObjectId(file_id), "thumbnailRequests": {"$gt": 0}}, {"$inc": {"thumbnailRequests": -1}}
        )

    async def fail_thumbnail(self, file_id: str) -> bool:
        result = await self._files.update_one(
            {"_id": ObjectId(file_id), "thumbnail": "pending"}, {"$set": {"thumbnail": "failed"}}
        )
        return result.modified_count == 1

    async def set_thumbnail(self, file_id: str, user_id: str, state: str) -> bool:
        oid, owner = parse_object_id(file_id), parse_object_id(user_id)
        if oid is None or owner is None:
            return False
        result = await self._files.update_one({"_id": oid, "userId": owner, **LIVE}, {"$set": {"thumbnail": state}})
        return result.matched_count == 1

    async def relocate(self, file_id: str, old: str, new: str) -> bool:
        oid = parse_object_id(file_id)
        if oid is None:
            return False
        result = await self._files.update_one({"_id": oid, "localPath": old, **LIVE}, {"$set": {"localPath": new}})
        return result.modified_count == 1

    async def count(self) -> int:
        return await self._files.count_documents(LIVE)

    async def scan(self) -> AsyncIterator[FileRecord]:
        async for doc in self._files.find({}):
            yield _record_from_doc(doc)


_COLUMNS = (
    "id, user_id, name, type, is_public, parent_id, local_path, size, sha256, thumbnail, created_at, updated_at,"
    " deleted_at, thumbnail_requests"
)
_LIVE = "deleted_at IS NULL"
_STALE = f"type = 'image' AND thumbnail = 'pending' AND {_LIVE} AND COALESCE(thumbnail_requested_at, created_at) < ?"


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
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        thumbnail_requests=row["thumbnail_requests"] or 0,
    )


def _sqlite_parent(parent_id: int | str) -> int | str:
    return 0 if is_root(parent_id) else str(parent_id).lower()


def _sqlite_parent_where(parent_id: str) -> tuple[str, tuple[Any, ...]] | None:
    if is_root(parent_id):
        return "parent_key = 0", ()
    oid = parse_object_id(parent_id)
    return ("parent_key = ?", (str(oid),)) if oid else None


class SqliteFileStore:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, args: tuple[Any, ...]) -> FileRecord | None:
        rows = await fetch(self._conn, sql, args)
        return _record_from_row(rows[0]) if rows else None

    async def _many(self, sql: str, args: tuple[Any, ...]) -> list[FileRecord]:
        return [_record_from_row(row) for row in await fetch(self._conn, sql, args)]

    async def insert(self, record: FileRecord) -> None:
        now = record.created_at or time.time()
        await self._conn.execute(
            f"INSERT INTO files ({_COLUMNS}, thumbnail_requested_at) VALUES ({', '.join('?' * 15)})",
            (
                record.id,
                record.user_id,
                record.name,
                record.type,
                int(record.is_public),
                _sqlite_parent(record.parent_id),
                record.local_path,
                record.size,
                record.sha256,
                record.thumbnail,
                now,
                record.updated_at or now,
                None,
                record.thumbnail_requests,
                now if record.thumbnail is not None else None,
            ),
        )

    async def get(self, file_id: str) -> FileRecord | None:
        oid = parse_object_id(file_id)
        return await self._one(f"SELECT {_COLUMNS} FROM files WHERE id = ? AND {_LIVE}", (str(oid),)) if oid else None

    async def get_owned(self, file_id: str, user_id: str) -> FileRecord | None:
        oid = parse_object_id(file_id)
        if oid is None:
            return None
        return await self._one(
            f"SELECT {_COLUMNS} FROM files WHERE id = ? AND user_id = ? AND {_LIVE}", (str(oid), user_id.lower())
        )

    @staticmethod
    def list_query(user_id: str, parent_id: str, page: int) -> tuple[str, tuple[Any, ...]] | None:
        """One range of the files_owner_parent_live index, already in rowid order: no sort, no merge."""
        where = _sqlite_parent_where(parent_id)
        if where is None:
            return None
        clause, args = where
        sql = f"SELECT {_COLUMNS} FROM files WHERE user_id = ? AND {clause} AND {_LIVE} ORDER BY rowid LIMIT ? OFFSET ?"
        return sql, (user_id.lower(), *args, PAGE_SIZE, page * PAGE_SIZE)

    async def list_children(self, user_id: str, parent_id: str, page: int) -> list[FileRecord]:
        query = self.list_query(user_id, parent_id, page)
        return await self._many(*query) if query else []

    async def children(self, user_id: str, parent_id: str) -> list[FileRecord]:
        where = _sqlite_parent_where(parent_id)
        if where is None:
            return []
        clause, args = where
        return await self._many(
            f"SELECT {_COLUMNS} FROM files WHERE user_id = ? AND {clause}", (user_id.lower(), *args)
        )

    async def _update_owned(self, file_id: str, user_id: str, fields: dict[str, Any]) -> FileRecord | None:
        oid = parse_object_id(file_id)
        if oid is None:
            return None
        fields = {**fields, "updated_at": time.time()}
        assignments = ", ".join(f"{column} = ?" for column in fields)  # column names are constants of this module
        return await self._one(
            f"UPDATE files SET {assignments} WHERE id = ? AND user_id = ? AND {_LIVE} RETURNING {_COLUMNS}",
            (*fields.values(), str(oid), user_id.lower()),
        )

    async def set_public(self, file_id: str, user_id: str, is_public: bool) -> FileRecord | None:
        return await self._update_owned(file_id, user_id, {"is_public": int(is_public)})

    async def update(self, file_id: str, user_id: str, changes: Changes) -> FileRecord | None:
        fields: dict[str, Any] = {}
        if changes.name is not None:
            fields["name"] = changes.name
        if changes.parent_id is not None:
            fields["parent_id"] = _sqlite_parent(changes.parent_id)
        return await self._update_owned(file_id, user_id, fields)

    async def mark_deleted(self, file_ids: list[str], at: float) -> None:
        for start in range(0, len(file_ids), 500):
            batch = file_ids[start : start + 500]
            marks = ", ".join("?" for _ in batch)
            await self._conn.execute(f"UPDATE files SET deleted_at = ? WHERE id IN ({marks}) AND {_LIVE}", (at, *batch))

    async def marked(self, limit: int) -> list[FileRecord]:
        return await self._many(f"SELECT {_COLUMNS} FROM files WHERE deleted_at IS NOT NULL LIMIT ?", (limit,))

    async def delete_many(self, file_ids: list[str]) -> None:
        for start in range(0, len(file_ids), 500):
            batch = file_ids[start : start + 500]
            marks = ", ".join("?" for _ in batch)
            await self._conn.execute(f"DELETE FROM files WHERE id IN ({marks})", tuple(batch))

    STALE_QUERY = f"SELECT {_COLUMNS} FROM files WHERE {_STALE} LIMIT ?"

    async def stale_thumbnails(self, older_than: float, limit: int) -> list[FileRecord]:
        """Served by the files_pending_thumbnails partial index: the upkeep never scans the table."""
        return await self._many(self.STALE_QUERY, (older_than, limit))

    async def claim_thumbnail_request(self, file_id: str, older_than: float, now: float) -> int | None:
        rows = await fetch(
            self._conn,
            "UPDATE files SET thumbnail_requests = COALESCE(thumbnail_requests, 0) + 1, thumbnail_requested_at = ?"
            f" WHERE id = ? AND {_STALE} RETURNING thumbnail_requests",
            (now, file_id, older_than),
        )
        return int(rows[0][0]) if rows else None

    async def unclaim_thumbnail_request(self, file_id: str) -> None:
        await self._conn.execute(
            "UPDATE files SET thumbnail_requests = thumbnail_requests - 1 WHERE id = ? AND thumbnail_requests > 0",
            (file_id,),
        )

    async def fail_thumbnail(self, file_id: str) -> bool:
        sql = "UPDATE files SET thumbnail = 'failed' WHERE id = ? AND thumbnail = 'pending' RETURNING id"
        return bool(await fetch(self._conn, sql, (file_id,)))

    async def set_thumbnail(self, file_id: str, user_id: str, state: str) -> bool:
        oid = parse_object_id(file_id)
        if oid is None:
            return False
        sql = f"UPDATE files SET thumbnail = ? WHERE id = ? AND user_id = ? AND {_LIVE} RETURNING id"
        return bool(await fetch(self._conn, sql, (state, str(oid), user_id.lower())))

    async def relocate(self, file_id: str, old: str, new: str) -> bool:
        sql = f"UPDATE files SET local_path = ? WHERE id = ? AND local_path = ? AND {_LIVE} RETURNING id"
        return bool(await fetch(self._conn, sql, (new, file_id, old)))

    async def count(self) -> int:
        rows = await fetch(self._conn, f"SELECT COUNT(*) FROM files WHERE {_LIVE}")
        return int(rows[0][0])

    async def scan(self) -> AsyncIterator[FileRecord]:
        for row in await fetch(self._conn, f"SELECT {_COLUMNS} FROM files"):
            yield _record_from_row(row)


def file_store(metadata: Metadata) -> FileStore:
    if metadata.mongo is not None:
        return MongoFileStore(metadata.mongo)
    assert metadata.sqlite is not None
    return SqliteFileStore(metadata.sqlite)
