"""What an engine's failure means to the client: busy or locked is 503, a full disk is 507, and anything
else is our bug (500 with a traceback in the log), never passed off as an outage."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pymongo.errors
import pytest

from shared import database, sqlite
from shared.sqlite import SQLITE_KEY
from tests.support.inprocess import Signed

OWNER = "5f1e7cda04a394508232559d"


def test_sqlite_errors_by_code(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x BLOB)")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as busy:
        other.execute("INSERT INTO t VALUES (1)")
    holder.execute("ROLLBACK")
    pages = holder.execute("PRAGMA page_count").fetchone()[0]
    holder.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.Error) as full:
        holder.execute("INSERT INTO t VALUES (zeroblob(100000))")
    with pytest.raises(sqlite3.OperationalError) as bug:
        holder.execute("SELECT * FROM missing")
    holder.close()
    other.close()
    assert [sqlite.failure_status(e.value) for e in (busy, full, bug)] == [503, 507, None]
    assert sqlite.failure_status(ConnectionError()) is None
    assert sqlite.failure_status(TimeoutError()) is None


def test_mongo_errors_by_kind() -> None:
    assert database.failure_status(pymongo.errors.ServerSelectionTimeoutError("no server")) == 503
    assert database.failure_status(pymongo.errors.AutoReconnect("connection reset")) == 503
    assert database.failure_status(pymongo.errors.OperationFailure("out of disk", code=14031)) == 507
    assert database.failure_status(pymongo.errors.WriteError("database or disk is full", code=1)) == 507
    assert database.failure_status(pymongo.errors.OperationFailure("unknown operator: $foo", code=2)) is None
    assert database.failure_status(ConnectionError()) is None


async def test_a_full_sqlite_file_is_507_and_nothing_is_visible(files_service: Signed, embedded: Path) -> None:
    await files_service.upload(OWNER, "before", "folder")
    conn = files_service.client.app[SQLITE_KEY]  # type: ignore[index]
    pages = (await (await conn.execute("PRAGMA page_count")).fetchone())[0]
    await conn.execute(f"PRAGMA max_page_count = {pages}")
    try:
        for index in range(200):  # until the pages the file has are used up
            status, body, _ = await files_service.call(
                "POST", "/files", OWNER, json={"name": f"f{index}-" + "x" * 200, "type": "folder"}
            )
            if status != 201:
                break
        assert (status, body) == (507, {"error": "Insufficient storage"})
        _, listed, _ = await files_service.call("GET", "/files", OWNER)
        assert f"f{index}-" + "x" * 200 not in [entry["name"] for entry in listed]
    finally:
        await conn.execute("PRAGMA max_page_count = 1073741823")
    status, _, _ = await files_service.call("POST", "/files", OWNER, json={"name": "after", "type": "folder"})
    assert status == 201


async def test_an_unexpected_engine_error_is_500_with_its_traceback(
    files_service: Signed, embedded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conn = files_service.client.app[SQLITE_KEY]  # type: ignore[index]
    await conn.execute("ALTER TABLE files RENAME TO files_elsewhere")  # a bug: the table is not where we look
    with caplog.at_level(logging.INFO):
        status, body, _ = await files_service.call("GET", "/files", OWNER)
    assert (status, body) == (500, {"error": "Internal server error"})
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], sqlite3.OperationalError)
