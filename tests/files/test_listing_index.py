"""The SQLite listing: one index range in rowid order whatever the root's spelling, on new and old files;
the upkeep's periodic search served by an index too (a table scan there stalls every request behind it)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bson import ObjectId

from services.files import files_store
from services.files.files_store import SqliteFileStore
from shared.sqlite import open_sqlite

OLD_SCHEMA = """
CREATE TABLE files (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, is_public INTEGER,
    parent_id, local_path TEXT, size INTEGER, sha256 TEXT, mime_type TEXT, thumbnail TEXT, created_at REAL,
    updated_at REAL, deleted_at REAL, thumbnail_requests INTEGER, thumbnail_requested_at REAL
);
CREATE INDEX files_owner_parent ON files (user_id, parent_id);
"""


def insert(db: sqlite3.Connection, user: str, name: str, parent: object, deleted: float | None = None) -> str:
    file_id = str(ObjectId())
    db.execute(
        "INSERT INTO files (id, user_id, name, type, is_public, parent_id, created_at, deleted_at)"
        " VALUES (?, ?, ?, 'folder', 0, ?, ?, ?)",
        (file_id, user, name, parent, time.time(), deleted),
    )
    return file_id


async def test_a_file_of_the_old_layout_gets_the_key_and_lists_every_root_spelling_in_order(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    user, other = str(ObjectId()), str(ObjectId())
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        folder = insert(db, user, "folder", 0)
        spellings: list[object] = [0, "0", None, "0", 0] * 6
        roots = [insert(db, user, f"root-{i}", parent) for i, parent in enumerate(spellings)]
        insert(db, user, "gone", 0, deleted=time.time())
        insert(db, other, "someone else's", 0)
        inside = [insert(db, user, f"inside-{i}", folder) for i in range(3)]

    conn = await open_sqlite(path, files_store.SCHEMA.sqlite)
    try:
        store = SqliteFileStore(conn)
        first, second = await store.list_children(user, "0", 0), await store.list_children(user, "0", 1)
        assert [r.id for r in first + second] == [folder, *roots]
        assert [r.parent_id for r in first + second][1:] == [0 if p is None else p for p in spellings]
        assert [r.id for r in await store.list_children(user, "0", 2)] == []
        assert [r.id for r in await store.list_children(user, folder.upper(), 0)] == inside
        indexes = {row[1] for row in await conn.execute_fetchall("PRAGMA index_list(files)")}
        assert "files_owner_parent_live" in indexes and "files_owner_parent" not in indexes
    finally:
        await conn.close()


async def test_every_listing_is_served_by_one_index_range_without_a_sort(tmp_path: Path) -> None:
    conn = await open_sqlite(tmp_path / "new.sqlite", files_store.SCHEMA.sqlite)
    try:
        user = str(ObjectId())
        for parent, page in (("0", 0), (0, 3), (str(ObjectId()), 7)):
            query = SqliteFileStore.list_query(user, str(parent), page)
            assert query is not None
            sql, args = query
            plan = " | ".join(row[3] for row in await conn.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", args))
            assert "USING INDEX files_owner_parent_live (user_id=? AND parent_key=? AND deleted_at=?)" in plan
            assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
        assert SqliteFileStore.list_query(user, "not-an-id", 0) is None
        # The upkeep's search for stale thumbnails, every interval, must not scan the table either.
        plan = " | ".join(
            row[3] for row in await conn.execute_fetchall(f"EXPLAIN QUERY PLAN {SqliteFileStore.STALE_QUERY}", (1.0, 5))
        )
        assert "USING INDEX files_pending_thumbnails" in plan and "SCAN" not in plan, plan
    finally:
        await conn.close()
