"""Blob writing: atomic, hashed, and leftovers of crashed processes swept."""

import hashlib
import os
import time
from pathlib import Path

from services.files.blobs import BlobStorage


async def test_write_is_atomic_and_hashed(tmp_path: Path) -> None:
    storage = BlobStorage(tmp_path / "files")
    blob = await storage.write(b"hello" * 1000)
    assert blob.size == 5000 and blob.sha256 == hashlib.sha256(b"hello" * 1000).hexdigest()
    assert [p.name for p in (tmp_path / "files").iterdir()] == [Path(blob.local_path).name]


async def test_aborted_writer_leaves_nothing(tmp_path: Path) -> None:
    storage = BlobStorage(tmp_path)
    writer = await storage.writer()
    await writer.write(b"x" * (3 * 2**20))
    await writer.abort()
    assert list(tmp_path.iterdir()) == []


async def test_sweep_removes_only_old_temp_files(tmp_path: Path) -> None:
    storage = BlobStorage(tmp_path)
    old = time.time() - 7200
    for name in (".upload-old", ".thumb-old", "a-real-blob", "a-real-blob_100"):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".upload-live").write_bytes(b"being written")
    assert await storage.sweep_temp_files(3600) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".upload-live", "a-real-blob", "a-real-blob_100"]
