"""The files domain in-process: the Library over the real metadata store of the selected adapter set
(the SQLite file, or MongoDB's wire protocol with FM_BACKENDS=engines), a real blob folder, real leases."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.files import files_store, tree_lease
from services.files.blobs import BlobStorage
from services.files.files_store import FileStore, file_store
from services.files.fsck import Checker
from services.files.library import Library
from services.files.tree_lease import TreeLeases, lease_store
from shared.database import Metadata, open_metadata
from shared.jobs import SQLITE_SCHEMA as JOBS_SCHEMA
from shared.jobs import SqliteJobQueue
from shared.settings import EngineSettings
from shared.sqlite import open_sqlite
from tests.support.engines import selected_backends

SCHEMAS = (files_store.SCHEMA, tree_lease.SCHEMA)


@pytest.fixture
async def metadata(tmp_path: Path) -> AsyncIterator[Metadata]:
    if os.environ.get("FM_BACKENDS", "embedded") != "engines":
        opened = await open_metadata(EngineSettings(tmp_path, None, "", None, None, b"x" * 32), *SCHEMAS)
        yield opened
        await opened.close()
        return
    backends = selected_backends()
    database = f"fm_unit_{uuid.uuid4().hex[:8]}"
    settings = EngineSettings(tmp_path, backends.mongo_url, database, None, None, b"x" * 32)
    opened = await open_metadata(settings, *SCHEMAS)
    yield opened
    assert opened.mongo is not None
    await opened.mongo.client.drop_database(database)
    await opened.close()


@dataclass
class Files:
    store: FileStore
    library: Library
    checker: Checker
    leases: TreeLeases
    folder: Path
    jobs: SqliteJobQueue


@pytest.fixture
async def files(metadata: Metadata, tmp_path: Path) -> AsyncIterator[Files]:
    jobs_conn = await open_sqlite(tmp_path / "jobs.sqlite3", JOBS_SCHEMA)
    folder = tmp_path / "blobs"
    store, leases = file_store(metadata), TreeLeases(lease_store(metadata))
    jobs = SqliteJobQueue(jobs_conn)
    blobs = BlobStorage(folder)
    library = Library(store, blobs, jobs, leases)
    yield Files(store, library, Checker(store, blobs, library, leases), leases, folder, jobs)
    await jobs_conn.close()
