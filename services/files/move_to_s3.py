"""Move the bytes on the volume into the S3 bucket, record by record, for a deployment going from one
machine to many:

    python -m services.files.move_to_s3 [--verify] [--remove-local] [--quiet]

It reads the files service's environment (engines, FOLDER_PATH, and S3_BUCKET with its endpoint and
credentials). For each live file or image whose bytes are on the volume, the bytes are streamed to object
`<uuid4>` (the file's own name), hashed on the way and compared with the record's SHA-256; its thumbnails
follow; then the record is switched to the object's URI by a compare-and-set, so a delete or another move
that came first wins (the objects just sent are then removed). Downloads work throughout: until its switch
a record is served from the volume, after it from the bucket.

Resumable: stopped anywhere, each record is either still on the volume or in the bucket with its bytes and
thumbnails, and a new run moves what is left (an object sent but not switched is sent again). Verifiable:
`--verify` reads every moved object back and compares its SHA-256. Images whose thumbnails are still being
made are left for a later run. The files left on the volume are removed at once with `--remove-local`,
otherwise by the files service's upkeep once `BLOB_GRACE_SECONDS` old (no record names them any more).
Exit status: 0 when every live record's bytes are in the bucket, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from services.files import files_store, tree_lease
from services.files.blobs import FLUSH_BYTES, BlobStorage
from services.files.files_store import FileRecord, FileStore, file_store
from services.files.settings import FilesSettings
from shared.database import open_metadata
from shared.objects import SCHEME, ObjectStore, StoredObject
from shared.thumbnails import THUMBNAIL_SUFFIXES

log = logging.getLogger(__name__)


@dataclass
class MoveReport:
    moved: int = 0
    moved_bytes: int = 0
    left: list[str] = field(default_factory=list)  # why each record not moved was left

    def summary(self) -> str:
        return f"moved {self.moved} record(s), {self.moved_bytes} byte(s); left on the volume: {len(self.left)}"


class Mover:
    def __init__(self, store: FileStore, blobs: BlobStorage) -> None:
        assert blobs.objects is not None, "a bucket to move to"
        self._store = store
        self._blobs = blobs
        self._objects = blobs.objects

    async def run(
        self, *, verify: bool = False, remove_local: bool = False, progress: Callable[[int], object] | None = None
    ) -> MoveReport:
        report = MoveReport()
        todo = [
            record
            async for record in self._store.scan()
            if record.deleted_at is None
            and record.type != "folder"
            and record.local_path
            and not record.local_path.startswith(SCHEME)
        ]
        for record in todo:
            assert record.local_path is not None
            if record.type == "image" and record.thumbnail == "pending":
                report.left.append(f"{record.id}: its thumbnails are still being made; run again later")
                continue
            try:
                moved = await self._move(record, record.local_path, verify)
            except FileNotFoundError:
                report.left.append(f"{record.id}: {record.local_path} does not exist (see `make fsck`)")
                continue
            if isinstance(moved, str):
                report.left.append(f"{record.id}: {moved}")
                continue
            report.moved += 1
            report.moved_bytes += moved
            if progress is not None:
                progress(moved)
            if remove_local:
                await asyncio.to_thread(_unlink_with_thumbnails, record.local_path)
        return report

    async def _move(self, record: FileRecord, path: str, verify: bool) -> int | str:
        """The bytes' size once moved and switched, or why not."""
        name = os.path.basename(path)
        key = name if _is_uuid(name) else str(uuid.uuid4())
        stored = await self._send(path, key)
        if record.sha256 is not None and stored.sha256 != record.sha256:
            await self._objects.remove([key])
            return f"the bytes at {path} no longer hash to the recorded SHA-256 (see `make fsck --verify`)"
        sent = [key]
        for suffix in THUMBNAIL_SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                await self._objects.upload_file(path + suffix, key + suffix)
                sent.append(key + suffix)
        if verify:
            again = await self._blobs.digest(stored.uri)
            if again != stored.sha256:
                await self._objects.remove(sent)
                return f"object {key} read back with another SHA-256"
        if not await self._store.relocate(record.id, path, stored.uri):
            await self._objects.remove(sent)  # deleted or changed meanwhile: that came first
            return "deleted or moved meanwhile"
        return stored.size

    async def _send(self, path: str, key: str) -> StoredObject:
        writer = self._objects.writer(key)
        handle = await asyncio.to_thread(open, path, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, FLUSH_BYTES):
                await writer.write(chunk)
            stored = await writer.commit()
        except BaseException:
            await writer.abort()
            raise
        finally:
            handle.close()
        return stored


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _unlink_with_thumbnails(path: str) -> None:
    for suffix in ("", *THUMBNAIL_SUFFIXES):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


async def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.files.move_to_s3", description=__doc__.split("\n\n")[0])
    parser.add_argument("--verify", action="store_true", help="read every moved object back and compare its hash")
    parser.add_argument("--remove-local", action="store_true", help="remove the volume's copy once switched")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = FilesSettings.from_env()
    if settings.objects is None:
        print("move_to_s3: S3_BUCKET is not set: nowhere to move the files to", file=sys.stderr)
        return 2
    metadata = await open_metadata(settings.engines, files_store.SCHEMA, tree_lease.SCHEMA)
    try:
        async with ObjectStore(settings.objects) as objects:
            await objects.ensure_bucket()
            mover = Mover(file_store(metadata), BlobStorage(settings.folder_path, objects))
            show = not args.quiet and sys.stderr.isatty()
            with tqdm(unit="B", unit_scale=True, desc="move", disable=not show, file=sys.stderr) as bar:
                report = await mover.run(verify=args.verify, remove_local=args.remove_local, progress=bar.update)
    finally:
        await metadata.close()
    for reason in report.left:
        print(f"  left: {reason}")
    print(report.summary())
    return 1 if report.left else 0


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
