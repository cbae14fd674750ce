"""The files check: reports every breach of the tree and storage invariants, and repairs what it safely can.

    python -m services.files.fsck [--verify] [--repair] [--grace SECONDS] [--quiet]

It reads the same environment as the files service (engines, FOLDER_PATH, S3_BUCKET); it checks the bytes
where each record says they are (the volume or the bucket), and lists both for strays. Invariants
(docs/architecture.md):
I1 every record's parent chain reaches the root; I2 no live record under a missing or deleted parent; I3 every
file or image record has its blob, and every blob older than the grace period has its record; I4 thumbnails
only beside a live image. `--verify` re-hashes every blob against its recorded SHA-256. `--repair` finishes
interrupted deletes, moves orphans and one member of each cycle into the owner's `lost+found` folder at the
root, removes unreferenced blobs and thumbnails past the grace period and temp files of dead writers.
Exit status: 0 when no violation is left, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from tqdm import tqdm

from services.files import files_store, tree_lease
from services.files.blobs import BlobStorage
from services.files.files_store import Changes, FileRecord, FileStore, file_store, is_root
from services.files.library import Library
from services.files.settings import FilesSettings
from services.files.tree_lease import TreeLeases, lease_store
from shared import tempfiles
from shared.database import new_id, open_metadata
from shared.errors import DomainError
from shared.jobs import open_job_queue
from shared.objects import ObjectStore
from shared.thumbnails import THUMBNAIL_SUFFIXES

log = logging.getLogger(__name__)

LOST_AND_FOUND = "lost+found"
# kind -> the invariant it breaks; kinds not listed are not violations (work in progress, strays).
INVARIANT = {
    "cycle": "I1",
    "orphan": "I2",
    "missing-blob": "I3",
    "unreferenced-blob": "I3",
    "size-mismatch": "I3",
    "bitrot": "I3",
    "stray-thumbnail": "I4",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str  # a record id or a path
    detail: str
    owner: str | None = None

    def __str__(self) -> str:
        tag = INVARIANT.get(self.kind, "--")
        return f"  {tag} {self.kind:<18} {self.subject}  {self.detail}"


@dataclass
class Report:
    records: int = 0
    blobs: int = 0
    findings: list[Finding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in INVARIANT]

    def of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def summary(self) -> str:
        counts = {name: 0 for name in ("I1", "I2", "I3", "I4")}
        for finding in self.violations:
            counts[INVARIANT[finding.kind]] += 1
        parts = ", ".join(f"{name}: {count}" for name, count in counts.items())
        others = len(self.findings) - len(self.violations)
        return f"violations: {len(self.violations)} ({parts}); other findings: {others}"


@dataclass(frozen=True)
class Stored:
    """One stored blob or thumbnail: where it is (a path or an s3:// URI), its size, when last written."""

    location: str
    size: int
    modified: float


class Checker:
    def __init__(self, store: FileStore, blobs: BlobStorage, library: Library, leases: TreeLeases) -> None:
        self._store = store
        self._blobs = blobs
        self._folder = blobs.folder
        self._library = library
        self._leases = leases

    async def check(self, *, grace: float, verify: bool = False, progress: bool = False) -> Report:
        records = [record async for record in self._store.scan()]
        report = Report(records=len(records))
        report.findings.extend(_tree_findings(records))
        report.findings.extend(
            Finding("pending-delete", r.id, f"marked {time.time() - r.deleted_at:.0f}s ago, not yet removed", r.user_id)
            for r in records
            if r.deleted_at is not None
        )
        report.blobs, found = await self._storage_findings(records, grace)
        report.findings.extend(found)
        if verify:
            report.findings.extend(await self._verify(records, progress))
        return report

    async def repair(self, *, grace: float, verify: bool = False, progress: bool = False) -> Report:
        """Repair, then check again: the report returned is of the state left behind, with what was done."""
        repairs: list[str] = []
        purged = await self._library.purge_pending()
        if purged:
            repairs.append(f"finished interrupted deletes: {purged} record(s) removed")
        before = await self.check(grace=grace)
        for finding in before.of("orphan") + before.of("cycle"):
            moved = await self._rehome(finding)
            if moved:
                repairs.append(moved)
        repairs.extend(await self._remove_strays(before))
        after = await self.check(grace=grace, verify=verify, progress=progress)
        after.repairs = repairs
        return after

    async def sweep_unreferenced(self, grace: float) -> int:
        """The files service's periodic janitor: unreferenced blobs and thumbnails past grace, dead temp files."""
        records = [record async for record in self._store.scan()]
        _, found = await self._storage_findings(records, grace)
        return len(await self._remove_strays(Report(findings=found)))

    # -- tree -------------------------------------------------------------------------------------------
    async def _rehome(self, finding: Finding) -> str | None:
        """Move the record into its owner's lost+found, under the owner's lease, if still broken then."""
        assert finding.owner is not None
        async with self._leases.hold(finding.owner) as held:
            record = await self._store.get_owned(finding.subject, finding.owner)
            if record is None or not await self._still_broken(record):
                return None
            lost_and_found = await self._lost_and_found(finding.owner)
            held.check()
            await self._store.update(record.id, finding.owner, Changes(parent_id=lost_and_found))
        return f"moved {finding.kind} {record.id} ({record.name!r}) into {LOST_AND_FOUND} {lost_and_found}"

    async def _still_broken(self, record: FileRecord) -> bool:
        try:
            async for parent in self._library.ancestors(record.user_id, record.parent_id):
                if parent.type != "folder":
                    return True
        except DomainError:  # a missing or deleted ancestor, or a cycle
            return True
        return False

    async def _lost_and_found(self, owner: str) -> str:
        for child in await self._store.children(owner, "0"):
            if child.deleted_at is None and child.type == "folder" and child.name == LOST_AND_FOUND:
                return child.id
        now = time.time()
        folder = FileRecord(new_id(), owner, LOST_AND_FOUND, "folder", False, 0, created_at=now, updated_at=now)
        await self._store.insert(folder)
        return folder.id

    # -- storage ---------------------------------------------------------------------------------------
    async def _inventory(self) -> dict[str, Stored]:
        """Every blob and thumbnail: the folder's files (temp files aside) and the bucket's objects."""
        found = {item.location: item for item in await asyncio.to_thread(self._folder_inventory)}
        objects = self._blobs.objects
        if objects is not None:
            paginator = objects.client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=objects.settings.bucket):
                for item in page.get("Contents", []):
                    location = objects.uri(item["Key"])
                    found[location] = Stored(location, int(item["Size"]), item["LastModified"].timestamp())
        return found

    def _folder_inventory(self) -> list[Stored]:
        if not self._folder.is_dir():
            return []
        items = []
        with os.scandir(self._folder) as entries:
            for entry in entries:
                if entry.name.startswith(tempfiles.TEMP_PREFIXES) or not entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
                items.append(Stored(os.path.join(str(self._folder), entry.name), info.st_size, info.st_mtime))
        return items

    async def _storage_findings(self, records: list[FileRecord], grace: float) -> tuple[int, list[Finding]]:
        findings: list[Finding] = []
        stored = await self._inventory()
        referenced = {r.local_path for r in records if r.local_path}
        live_images = {r.local_path for r in records if r.local_path and r.type == "image" and r.deleted_at is None}
        for r in records:
            if r.deleted_at is not None or r.type == "folder" or not r.local_path:
                continue
            # Bytes outside the folder and bucket (a legacy record's own path) are looked up one by one.
            item = stored.get(r.local_path)
            size = item.size if item is not None else await self._blobs.size(r.local_path)
            if size is None:
                findings.append(Finding("missing-blob", r.id, f"{r.local_path} does not exist", r.user_id))
                continue
            if r.size is not None and size != r.size:
                findings.append(Finding("size-mismatch", r.id, f"{size} bytes stored, {r.size} recorded", r.user_id))
        cutoff = time.time() - grace
        for location, item in stored.items():
            base = next((location[: -len(s)] for s in THUMBNAIL_SUFFIXES if location.endswith(s)), None)
            if base is not None and base in live_images:
                continue
            if base is None and location in referenced:
                continue
            if item.modified >= cutoff:
                continue  # young: an upload or a thumbnail job may be about to claim it
            kind = "stray-thumbnail" if base is not None else "unreferenced-blob"
            findings.append(Finding(kind, location, "no live record refers to it"))
        findings.extend(
            Finding("temp-file", str(path), "its writer is gone")
            for path in await asyncio.to_thread(tempfiles.abandoned, self._folder)
        )
        return len(stored), findings

    async def _remove_strays(self, report: Report) -> list[str]:
        strays = report.of("unreferenced-blob") + report.of("stray-thumbnail")
        await self._blobs.remove_many([finding.subject for finding in strays], suffixes=("",))
        done = [f"removed {finding.kind} {finding.subject}" for finding in strays]
        swept = await self._blobs.sweep_temp_files()
        if swept:
            done.append(f"removed {swept} temp file(s) of dead writers or abandoned upload(s)")
        return done

    async def _verify(self, records: list[FileRecord], progress: bool) -> list[Finding]:
        targets = [r for r in records if r.deleted_at is None and r.local_path and r.sha256 and r.type != "folder"]
        stored = await self._inventory()
        total = sum(stored[r.local_path].size for r in targets if r.local_path in stored)
        findings: list[Finding] = []
        with tqdm(total=total, unit="B", unit_scale=True, desc="verify", disable=not progress, file=sys.stderr) as bar:
            for r in targets:
                assert r.local_path is not None
                digest = await self._blobs.digest(r.local_path, bar.update)
                if digest is not None and digest != r.sha256:  # None: reported as missing-blob
                    findings.append(
                        Finding("bitrot", r.id, f"{r.local_path} no longer hashes to its SHA-256", r.user_id)
                    )
        return findings


def _tree_findings(records: list[FileRecord]) -> list[Finding]:
    """I1 and I2 over the live records: each cycle once, and each record whose own parent link is broken."""
    by_id = {r.id.lower(): r for r in records}
    findings: list[Finding] = []
    settled: set[str] = set()
    for start in records:
        if start.deleted_at is not None or start.id in settled:
            continue
        path: list[FileRecord] = []
        position: dict[str, int] = {}
        current = start
        while current.id not in settled:
            if current.id in position:
                cycle = path[position[current.id] :]
                names = ", ".join(sorted(r.id for r in cycle))
                first = min(cycle, key=lambda r: r.id)
                findings.append(Finding("cycle", first.id, f"{len(cycle)} folder(s) in a loop: {names}", first.user_id))
                break
            position[current.id] = len(path)
            path.append(current)
            if is_root(current.parent_id):
                break
            parent = by_id.get(str(current.parent_id).lower())
            problem = _broken_link(current, parent)
            if problem:
                findings.append(Finding("orphan", current.id, problem, current.user_id))
                break
            assert parent is not None
            current = parent
        settled.update(r.id for r in path)
    return findings


def _broken_link(record: FileRecord, parent: FileRecord | None) -> str | None:
    if parent is None:
        return f"parent {record.parent_id} does not exist"
    if parent.deleted_at is not None:
        return f"parent {parent.id} is deleted"
    if parent.user_id.lower() != record.user_id.lower():
        return f"parent {parent.id} belongs to another user"
    if parent.type != "folder":
        return f"parent {parent.id} is not a folder"
    return None


def _print(report: Report, repairing: bool, out: TextIO) -> None:
    print(f"files check: {report.records} record(s), {report.blobs} blob(s) and thumbnail(s) stored", file=out)
    for line in report.repairs:
        print(f"  repaired: {line}", file=out)
    for finding in report.findings:
        print(finding, file=out)
    print(("after repair, " if repairing else "") + report.summary(), file=out)


async def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.files.fsck", description=__doc__.split("\n\n")[0])
    parser.add_argument("--verify", action="store_true", help="re-hash every blob against its SHA-256")
    parser.add_argument("--repair", action="store_true", help="fix what can be fixed safely, then check again")
    parser.add_argument(
        "--grace", type=float, default=None, help="seconds before a stray file counts (BLOB_GRACE_SECONDS)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = FilesSettings.from_env()
    grace = settings.blob_grace if args.grace is None else args.grace
    metadata = await open_metadata(settings.engines, files_store.SCHEMA, tree_lease.SCHEMA)
    jobs = await open_job_queue(settings.engines, metadata.sqlite)
    try:
        store = file_store(metadata)
        leases = TreeLeases(lease_store(metadata), ttl=settings.tree_lease_seconds)
        async with contextlib.AsyncExitStack() as stack:
            objects = None
            if settings.objects is not None:
                objects = await stack.enter_async_context(ObjectStore(settings.objects))
            blobs = BlobStorage(settings.folder_path, objects)
            library = Library(store, blobs, jobs, leases)
            checker = Checker(store, blobs, library, leases)
            progress = not args.quiet and sys.stderr.isatty()
            if args.repair:
                report = await checker.repair(grace=grace, verify=args.verify, progress=progress)
            else:
                report = await checker.check(grace=grace, verify=args.verify, progress=progress)
    finally:
        await jobs.close()
        await metadata.close()
    _print(report, args.repair, sys.stdout)
    return 1 if report.violations else 0


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
