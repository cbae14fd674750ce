"""Blob writing: atomic, hashed, and leftovers of crashed processes swept."""

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.files.blobs import BlobStorage
from shared import tempfiles


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


def test_sweep_removes_temp_files_of_dead_writers_only(tmp_path: Path) -> None:
    """A writer holds a lock on its temp file; a killed writer's file is removed at once, however young."""
    with subprocess.Popen(
        [sys.executable, "-c", WRITE_AND_HANG, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None
        dead_writers_file = Path(writer.stdout.readline().strip())
        writer.kill()
    old = time.time() - 60
    for name in ("a-real-blob", "a-real-blob_100", ".thumb-unlocked"):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (old, old))
    os.utime(dead_writers_file, (old, old))
    live_path, live_handle = tempfiles.create_locked(tmp_path, tempfiles.UPLOAD_PREFIX)
    os.utime(live_path, (old, old))  # old, but its writer (this process) is alive
    young = tmp_path / ".upload-just-created"
    young.write_bytes(b"")  # unlocked, however young: its writer would start again (next test)
    with live_handle:
        assert tempfiles.sweep(tmp_path) == 3
        remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == sorted([live_path.name, "a-real-blob", "a-real-blob_100"])


def test_a_writer_whose_new_file_is_swept_before_it_locks_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between a writer's create and its lock: a sweeper there removes the file, and the writer
    notices and writes under a new name instead of into a file nobody can find."""
    real_flock = fcntl.flock
    swept: list[int] = []
    raced = False

    def sweep_first(fd: int, operation: int) -> None:
        nonlocal raced
        if not raced:  # the sweeper wins the race once
            raced = True
            swept.append(tempfiles.sweep(tmp_path))
        real_flock(fd, operation)

    monkeypatch.setattr(tempfiles.fcntl, "flock", sweep_first)
    path, handle = tempfiles.create_locked(tmp_path, tempfiles.UPLOAD_PREFIX)
    monkeypatch.undo()
    with handle:
        handle.write(b"kept")
        handle.flush()
        assert swept == [1] and path.exists()
        assert [p.name for p in tmp_path.iterdir()] == [path.name]
        assert tempfiles.sweep(tmp_path) == 0  # locked by its live writer
    assert path.read_bytes() == b"kept"


WRITE_AND_HANG = """
import sys, time
from shared import tempfiles
path, handle = tempfiles.create_locked(sys.argv[1], tempfiles.UPLOAD_PREFIX)
handle.write(b"partial")
handle.flush()
print(path, flush=True)
time.sleep(60)
"""


async def test_stat_or_read_reads_only_small_regular_files(tmp_path: Path) -> None:
    storage = BlobStorage(tmp_path / "files")
    small, large = await storage.write(b"s" * 100), await storage.write(b"L" * 5000)
    found = await storage.stat_or_read(small.local_path, 1000)
    assert found is not None and found[0] == 100 and found[2] == b"s" * 100
    assert found[1] == os.stat(small.local_path).st_mtime
    assert await storage.stat_or_read(large.local_path, 1000) == (5000, os.stat(large.local_path).st_mtime, None)
    assert await storage.stat_or_read(small.local_path, None) == (100, os.stat(small.local_path).st_mtime, None)
    assert await storage.stat_or_read(str(tmp_path / "files" / "missing"), 1000) is None
    assert await storage.stat_or_read(str(tmp_path / "files"), 1000) is None  # a directory
    fifo = tmp_path / "files" / "fifo"
    os.mkfifo(fifo)
    assert await storage.stat_or_read(str(fifo), 1000) is None  # answered at once: no writer is waited for
