"""Temp files beside the blobs, locked by their writer, so that those of a dead process are known at once.

The files service (uploads) and the thumbnailer (thumbnails) both write `<FOLDER_PATH>/<prefix><random>`
and rename it into place. The writer holds an exclusive `flock` on the file from its creation until after
the rename; the kernel drops it when the process ends, however it ends. A sweeper that can take the lock
knows the writer is gone and removes the file: no age threshold, and at start-up already.

Between a writer's create and its lock there is a window in which a sweeper can take the lock and unlink the
new file. The writer notices (its file has no name left once it holds the lock) and starts again under a new
name, so the sweeper never has to guess from a file's age.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path
from typing import BinaryIO

UPLOAD_PREFIX = ".upload-"
THUMBNAIL_PREFIX = ".thumb-"
TEMP_PREFIXES = (UPLOAD_PREFIX, THUMBNAIL_PREFIX)


def create_locked(folder: Path | str, prefix: str) -> tuple[Path, BinaryIO]:
    """A new temp file in `folder`, open for writing and locked until closed."""
    while True:
        path = Path(folder) / f"{prefix}{uuid.uuid4().hex}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink > 0:
                return path, os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            raise
        os.close(fd)  # a sweeper took it between our create and our lock: start again under a new name


def abandoned(folder: Path) -> list[Path]:
    """Temp files whose writer is gone (no lock held on them), without removing them."""
    return [path for path in _candidates(folder) if _is_abandoned(path, remove=False)]


def sweep(folder: Path) -> int:
    """Remove temp files whose writer is gone; a file still locked belongs to a live writer."""
    return sum(1 for path in _candidates(folder) if _is_abandoned(path, remove=True))


def _candidates(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return [Path(e.path) for e in entries if e.name.startswith(TEMP_PREFIXES) and e.is_file(follow_symlinks=False)]


def _is_abandoned(path: Path, remove: bool) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, OSError):
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        info = os.fstat(fd)
        try:
            current = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if current.st_ino != info.st_ino:  # renamed into place since we opened it, and the name reused
            return False
        if remove:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return True
    finally:
        os.close(fd)
