"""File bytes under FOLDER_PATH: one flat file `<FOLDER_PATH>/<uuid4>` each, written durably and atomically."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = ".upload-"


@dataclass(frozen=True)
class StoredBlob:
    local_path: str
    size: int
    sha256: str


class BlobStorage:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def write(self, data: bytes) -> StoredBlob:
        return await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> StoredBlob:
        """Temp file, fsync, rename, fsync of the folder: the final name never holds a partial file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / str(uuid.uuid4())
        temp = self.folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            with open(temp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        _fsync_dir(self.folder)
        return StoredBlob(str(final), len(data), hashlib.sha256(data).hexdigest())

    async def remove(self, local_path: str) -> None:
        await asyncio.to_thread(_unlink_quietly, local_path)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
