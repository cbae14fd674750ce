"""File bytes: on the volume, one flat file `<FOLDER_PATH>/<uuid4>` each, written durably and atomically;
or, when S3 is configured, one object `<uuid4>` each in the bucket (shared/objects.py), named by its URI.

On the volume, bytes go to a dot-named temp file in the same folder (same filesystem, so the rename is
atomic), are fsynced, renamed to their final name and the folder fsynced: the final name never holds a
partial file. New bytes go where the configuration says; existing bytes are found where their record's
`localPath` says (a path or an `s3://` URI), so records of both kinds are served side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from shared import tempfiles
from shared.errors import InsufficientStorageError
from shared.objects import ObjectStore, ObjectWriter
from shared.thumbnails import THUMBNAIL_SUFFIXES

FLUSH_BYTES = 1024 * 1024
_WRITE_BEHIND = hasattr(os, "posix_fadvise")


@dataclass(frozen=True)
class StoredBlob:
    local_path: str  # a path on the volume, or an s3:// URI
    size: int
    sha256: str


class StagedBytes(Protocol):
    """An upload being written: counted and hashed on the way, invisible until `commit`."""

    @property
    def size(self) -> int: ...

    async def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> StoredBlob: ...

    async def abort(self) -> None: ...


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


class ObjectBlobWriter:
    """An upload into the bucket, as the files service stages bytes."""

    def __init__(self, writer: ObjectWriter) -> None:
        self._writer = writer

    @property
    def size(self) -> int:
        return self._writer.size

    async def write(self, chunk: bytes) -> None:
        await self._writer.write(chunk)

    async def commit(self) -> StoredBlob:
        stored = await self._writer.commit()
        return StoredBlob(stored.uri, stored.size, stored.sha256)

    async def abort(self) -> None:
        await self._writer.abort()


class BlobStorage:
    """Where new bytes go, and where a record's bytes are. `objects`: the bucket, when S3 is configured."""

    def __init__(self, folder: Path, objects: ObjectStore | None = None) -> None:
        self.folder = folder
        self.objects = objects

    def _key(self, local_path: str) -> str | None:
        return self.objects.key(local_path) if self.objects is not None else None

    async def writer(self) -> StagedBytes:
        if self.objects is not None:
            return ObjectBlobWriter(self.objects.writer())
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

    async def stat(self, local_path: str) -> tuple[int, float] | None:
        """The size and last modification (epoch seconds) of the bytes at a record's localPath; None when
        there are none."""
        if (key := self._key(local_path)) is not None:
            assert self.objects is not None
            return await self.objects.stat(key)
        return await asyncio.to_thread(_regular_file_stat, local_path)

    async def stat_or_read(self, local_path: str, read_up_to: int | None) -> tuple[int, float, bytes | None] | None:
        """As `stat`, plus the bytes themselves when there are at most `read_up_to` of them (None: never),
        in the same thread hand-off (a file on the volume; an object's bytes are not fetched here)."""
        if read_up_to is None or self._key(local_path) is not None:
            found = await self.stat(local_path)
            return None if found is None else (*found, None)
        return await asyncio.to_thread(_regular_file_stat_or_read, local_path, read_up_to)

    async def size(self, local_path: str) -> int | None:
        found = await self.stat(local_path)
        return None if found is None else found[0]

    async def digest(self, local_path: str, progress: Callable[[int], object] | None = None) -> str | None:
        """The SHA-256 of the bytes at a record's localPath, read a megabyte at a time; None when absent."""
        digest = hashlib.sha256()
        if (key := self._key(local_path)) is not None:
            assert self.objects is not None
            if await self.objects.size(key) is None:
                return None
            async for chunk in self.objects.read(key):
                await asyncio.to_thread(digest.update, chunk)
                if progress is not None:
                    progress(len(chunk))
            return digest.hexdigest()

        def hash_file() -> str | None:
            try:
                with open(local_path, "rb") as handle:
                    while chunk := handle.read(FLUSH_BYTES):
                        digest.update(chunk)
                        if progress is not None:
                            progress(len(chunk))
            except FileNotFoundError:
                return None
            return digest.hexdigest()

        return await asyncio.to_thread(hash_file)

    async def remove(self, local_path: str) -> None:
        await self.remove_many([local_path], suffixes=("",))

    async def sweep_temp_files(self) -> int:
        """Remove temp files of uploads or thumbnails whose writing process is gone (shared/tempfiles.py),
        and the bucket's multipart uploads abandoned for a day."""
        removed = await asyncio.to_thread(tempfiles.sweep, self.folder)
        if self.objects is not None:
            removed += await self.objects.abandoned_uploads()
        return removed

    async def remove_with_thumbnails(self, local_paths: list[str]) -> None:
        await self.remove_many(local_paths, suffixes=("", *THUMBNAIL_SUFFIXES))

    async def remove_many(self, local_paths: list[str], suffixes: tuple[str, ...]) -> None:
        located = [(path, self._key(path)) for path in local_paths]
        keys = [key for _, key in located if key is not None]
        paths = [path for path, key in located if key is None]
        if keys:
            assert self.objects is not None
            await self.objects.remove([key + suffix for key in keys for suffix in suffixes])

        def unlink_all() -> None:
            for path in paths:
                for suffix in suffixes:
                    _unlink_quietly(path + suffix)

        await asyncio.to_thread(unlink_all)


def _regular_file_stat(path: str) -> tuple[int, float] | None:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_size, info.st_mtime) if stat.S_ISREG(info.st_mode) else None


def _regular_file_stat_or_read(path: str, read_up_to: int) -> tuple[int, float, bytes | None] | None:
    try:
        # O_NONBLOCK: whatever sits at the path, opening it never waits (a FIFO would, for a writer).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # a directory, or worse: never read, never opened as a file
        os.close(fd)
        return None
    with open(fd, "rb") as handle:  # closes fd
        content = handle.read(info.st_size + 1) if info.st_size <= read_up_to else None
    if content is not None and len(content) != info.st_size:
        content = None  # changed while read (a blob never is): let the caller send it from the file
    return info.st_size, info.st_mtime, content


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
