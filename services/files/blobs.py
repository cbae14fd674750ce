"""File bytes under FOLDER_PATH: one flat file `<FOLDER_PATH>/<uuid4>` each, written durably and atomically.

Bytes go to a dot-named temp file in the same folder (same filesystem, so the rename is atomic), are
fsynced, renamed to their final name and the folder fsynced: the final name never holds a partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shared import tempfiles
from shared.errors import InsufficientStorageError
from shared.thumbnails import THUMBNAIL_SUFFIXES

FLUSH_BYTES = 1024 * 1024
_WRITE_BEHIND = hasattr(os, "posix_fadvise")


@dataclass(frozen=True)
class StoredBlob:
    local_path: str
    size: int
    sha256: str


class BlobWriter:
    """A streamed upload: counted and hashed while written; invisible until `commit`."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._temp: Path | None = None
        self._handle: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._in_flight: asyncio.Future[tuple[None, None]] | None = None
        self.size = 0

    async def open(self) -> None:
        self._temp, self._handle = await asyncio.to_thread(self._open)

    def _open(self) -> tuple[Path, BinaryIO]:
        self._folder.mkdir(parents=True, exist_ok=True)
        return tempfiles.create_locked(self._folder, tempfiles.UPLOAD_PREFIX)  # closed in commit/abort

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        """Hand the pending bytes to the disk; at most one flush runs while the next megabyte arrives."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        await self._drain()
        # Hashing and writing both release the GIL: done in two threads at once, and in the background.
        self._in_flight = asyncio.ensure_future(
            asyncio.gather(asyncio.to_thread(self._hash.update, data), asyncio.to_thread(self._write, data))
        )

    async def _drain(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            await in_flight

    def _write(self, data: bytes) -> None:
        assert self._handle is not None
        try:
            start = self._handle.tell()
            self._handle.write(data)
            if _WRITE_BEHIND:
                # Start writing these pages back now (DONTNEED on dirty pages queues their writeback), so
                # the final fsync has little left to do and a large upload does not flood the page cache.
                self._handle.flush()
                os.posix_fadvise(self._handle.fileno(), start, len(data), os.POSIX_FADV_DONTNEED)
        except OSError as exc:
            raise _storage_error(exc) from exc

    async def commit(self) -> StoredBlob:
        await self._flush()
        await self._drain()
        final = self._folder / str(uuid.uuid4())
        await asyncio.to_thread(self._commit, final)
        return StoredBlob(str(final), self.size, self._hash.hexdigest())

    def _commit(self, final: Path) -> None:
        assert self._handle is not None and self._temp is not None
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            os.replace(self._temp, final)  # before close: the lock shows a live writer until the rename
            self._handle.close()
            _fsync_dir(self._folder)
        except OSError as exc:
            raise _storage_error(exc) from exc

    async def abort(self) -> None:
        if self._in_flight is not None:
            with contextlib.suppress(BaseException):
                await self._drain()
        await asyncio.to_thread(self._abort)

    def _abort(self) -> None:
        if self._temp is not None:
            _unlink_quietly(str(self._temp))
        if self._handle is not None and not self._handle.closed:
            self._handle.close()


class BlobStorage:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def writer(self) -> BlobWriter:
        writer = BlobWriter(self.folder)
        try:
            await writer.open()
        except OSError as exc:
            raise _storage_error(exc) from exc
        return writer

    async def write(self, data: bytes) -> StoredBlob:
        writer = await self.writer()
        try:
            await writer.write(data)
            return await writer.commit()
        except BaseException:
            await writer.abort()
            raise

    async def remove(self, local_path: str) -> None:
        await asyncio.to_thread(_unlink_quietly, local_path)

    async def sweep_temp_files(self) -> int:
        """Remove temp files of uploads or thumbnails whose writing process is gone (shared/tempfiles.py)."""
        return await asyncio.to_thread(tempfiles.sweep, self.folder)

    async def remove_with_thumbnails(self, local_paths: list[str]) -> None:
        def unlink_all() -> None:
            for path in local_paths:
                for suffix in ("", *THUMBNAIL_SUFFIXES):
                    _unlink_quietly(path + suffix)

        await asyncio.to_thread(unlink_all)


def _storage_error(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorageError()
    return exc


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
