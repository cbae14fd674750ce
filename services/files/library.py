"""The files rules: upload, show, list, publish, rename/move, delete, and what a download serves. No HTTP here."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NotRequired, TypedDict

from services.files.blobs import BlobStorage, StoredBlob
from services.files.files_store import Changes, FileRecord, FileStore, is_root
from services.files.mime import content_type
from services.files.tree_lease import TreeLeases
from services.files.uploads import PatchRequest, UploadRequest
from shared.database import new_id
from shared.errors import AuthenticationError, ConflictError, DataIntegrityError, NotFoundError, ValidationError
from shared.identity import Caller
from shared.ids import is_object_id
from shared.jobs import FILE_QUEUE, FileJob, JobQueue
from shared.thumbnails import THUMBNAIL_SIZES

log = logging.getLogger(__name__)

MAX_PAGE = 1_000_000
MAX_TREE_DEPTH = 10_000
# Originals up to this size are answered from memory by the files service (one small body for the gateway
# to pass on), larger ones are sent by the gateway from the volume or streamed from S3.
INLINE_BYTES = 64 * 1024
MAX_THUMBNAIL_REQUESTS = 3  # jobs published per image (the first and two re-publications), then `failed`

StageBytes = Callable[[], Awaitable[StoredBlob]]


def claim_lifetime(configured: float, publish_timeout: float) -> float:
    """How old a claim to re-publish a pending thumbnail job must be before another is made: at least
    twice the queue's publish timeout. A claim stands while its publish may be in flight and until its
    count is put back after a failure; were it stale sooner, another process (a replica, during a broker
    outage) would claim the same job meanwhile, each claim counted, and the image would be `failed`
    before the broker returned."""
    return max(configured, 2 * publish_timeout)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else _iso_of(epoch)


@functools.lru_cache(maxsize=8192)
def _iso_of(epoch: float) -> str:
    # The same records are shown again and again (a folder's pages, a polled view): their dates are
    # formatted once. A page of the listing spent a tenth of its CPU here.
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ContractView(TypedDict):
    """The original's file view: these six fields, in this order, nothing else."""

    id: str
    userId: str
    name: str
    type: str
    isPublic: bool
    parentId: int | str


class FileView(ContractView):
    """The contract's six fields with their exact meaning, then additive metadata (ADR 5)."""

    size: NotRequired[int]  # files and images; every addition is left out when it has no value
    sha256: NotRequired[str]
    mimeType: NotRequired[str]
    thumbnail: NotRequired[str]  # images: pending, ready or failed
    # Written last, after the type's own fields.
    createdAt: NotRequired[str]
    updatedAt: NotRequired[str]


def file_view(record: FileRecord) -> FileView:
    view: FileView = {
        "id": record.id,
        "userId": record.user_id,
        "name": record.name,
        "type": record.type,
        "isPublic": record.is_public,
        "parentId": record.parent_id,
    }
    # The additions, each only when it has a value: a document an original deployment wrote has none.
    if record.type != "folder":
        if record.size is not None:
            view["size"] = record.size
        if record.sha256 is not None:
            view["sha256"] = record.sha256
        view["mimeType"] = content_type(record.name).split(";")[0]
    if record.type == "image" and record.thumbnail is not None:
        view["thumbnail"] = record.thumbnail
    created, updated = _iso(record.created_at), _iso(record.updated_at or record.created_at)
    if created is not None:
        view["createdAt"] = created
    if updated is not None:
        view["updatedAt"] = updated
    return view


def contract_view(view: FileView) -> ContractView:
    return {
        "id": view["id"],
        "userId": view["userId"],
        "name": view["name"],
        "type": view["type"],
        "isPublic": view["isPublic"],
        "parentId": view["parentId"],
    }


def parse_page(raw: str | None) -> int:
    """Like parseInt: missing or non-numeric is page 0; negative or absurd pages are refused."""
    text = (raw or "").strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for ch in text.lstrip("+-"):
        if not ch.isdigit() or not ch.isascii():
            break
        digits += ch
    if not digits:
        return 0
    if len(digits) > 7:
        raise ValidationError("Invalid page")
    page = sign * int(digits)
    if page < 0 or page > MAX_PAGE:
        raise ValidationError("Invalid page")
    return page


@dataclass(frozen=True)
class Download:
    path: str  # on the volume, or an s3:// URI
    content_type: str
    record: FileRecord
    original: bool  # the file itself, not a thumbnail
    size: int
    modified: float  # epoch seconds
    content: bytes | None = None  # the bytes themselves, for a small original on the volume


def _owner(caller: Caller) -> str:
    if caller.anonymous:
        raise AuthenticationError()
    return caller.user_id


class Library:
    """Tree invariants (docs/architecture.md, ADR 6): I1 no cycle, I2 no visible record under a missing or
    deleted parent, I3 every record has its blob, I4 thumbnails only beside a live image."""

    def __init__(
        self,
        store: FileStore,
        blobs: BlobStorage,
        jobs: JobQueue,
        leases: TreeLeases,
        max_thumbnail_requests: int = MAX_THUMBNAIL_REQUESTS,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._jobs = jobs
        self._leases = leases
        self._max_thumbnail_requests = max_thumbnail_requests

    async def _check_parent(self, owner: str, parent_id: int | str) -> None:
        if is_root(parent_id):
            return
        parent = await self._store.get_owned(str(parent_id), owner) if is_object_id(parent_id) else None
        if parent is None:
            raise ValidationError("Parent not found")
        if parent.type != "folder":
            raise ValidationError("Parent is not a folder")

    async def upload(self, caller: Caller, upload: UploadRequest, stage: StageBytes | None) -> FileView:
        """`stage` puts the bytes in place (after every check, only for files and images)."""
        owner = _owner(caller)
        await self._check_parent(owner, upload.parent_id)
        now = time.time()
        record = FileRecord(
            id=new_id(),
            user_id=owner,
            name=upload.name,
            type=upload.type,
            is_public=upload.is_public,
            parent_id=upload.parent_id,
            created_at=now,
            updated_at=now,
        )
        if upload.type == "folder":
            await self._store.insert(record)
            await self._confirm_parent(record)
            return file_view(record)
        assert stage is not None
        blob = await stage()
        record.local_path, record.size, record.sha256 = blob.local_path, blob.size, blob.sha256
        if upload.type == "image":
            record.thumbnail, record.thumbnail_requests = "pending", 1
        try:
            await self._store.insert(record)
        except BaseException:
            await self._blobs.remove(blob.local_path)
            raise
        await self._confirm_parent(record)
        if upload.type == "image":
            await self.request_thumbnails(record)
        return file_view(record)

    async def _confirm_parent(self, record: FileRecord) -> None:
        """After the insert, the parent must still be live, or the new record is taken back (I2).

        A delete marks a folder before it reads the folder's children; an upload inserts its record before
        it reads the parent again. Whatever the interleaving, one of them sees the other: either the delete
        finds the new record and takes it along, or the upload finds its parent marked and undoes itself.
        Uploads need no lease for that, so they never queue behind a large delete.
        """
        if is_root(record.parent_id):
            return
        if await self._store.get_owned(str(record.parent_id), record.user_id) is not None:
            return
        await self._store.mark_deleted([record.id], time.time())
        if record.type == "folder":
            # Another upload may have gone into the new folder meanwhile: take it along, under the lease
            # so that no move into the folder interleaves with the walk.
            async with self._leases.hold(record.user_id):
                doomed = await self._mark_subtree([record])
        else:
            doomed = [record]
        await self._purge(doomed)
        raise ValidationError("Parent not found")

    async def request_thumbnails(self, record: FileRecord) -> bool:
        """Publish after the metadata is committed (the record already counts this job); a job that does
        not reach the queue is not counted, and the reconciler publishes it later."""
        try:
            job: FileJob = {"userId": record.user_id, "fileId": record.id}
            await self._jobs.publish(FILE_QUEUE, job)
            return True
        except Exception as exc:  # noqa: BLE001 - the upload stands; the reconciler retries the job
            log.warning("thumbnail job for %s not published yet: %r", record.id, exc)
        try:
            await self._store.unclaim_thumbnail_request(record.id)
        except Exception as exc:  # noqa: BLE001 - at worst the image fails one job early
            log.warning("thumbnail job count of %s not corrected: %r", record.id, exc)
        return False

    async def republish_stale(self, older_than_seconds: float, limit: int = 100) -> int:
        """Publish again the jobs of images still pending, each claimed by one process, a bounded number
        of times: past the last, the image is `failed` (logged once), so nothing loops."""
        now = time.time()
        cutoff = now - older_than_seconds
        published = 0
        for record in await self._store.stale_thumbnails(cutoff, limit):
            count = await self._store.claim_thumbnail_request(record.id, cutoff, now)
            if count is None:
                continue  # another process claimed it, or it is no longer pending
            if count > self._max_thumbnail_requests:
                if await self._store.fail_thumbnail(record.id):
                    log.error("thumbnails for %s failed: no outcome after %d job(s)", record.id, count - 1)
                continue
            published += await self.request_thumbnails(record)
        return published

    async def count(self) -> int:
        return await self._store.count()

    async def thumbnail_source(self, caller: Caller, file_id: str) -> FileRecord:
        """The live record a thumbnail job of `caller` names (the contract's `File not found` otherwise)."""
        record = await self._store.get_owned(file_id, _owner(caller))
        if record is None:
            raise NotFoundError("File not found")
        return record

    async def record_thumbnail(self, caller: Caller, file_id: str, state: str) -> None:
        """A job's outcome, reported by the thumbnailer. Not found if the record is gone or going: the
        thumbnailer then removes what it wrote (I4)."""
        if not await self._store.set_thumbnail(file_id, _owner(caller), state):
            raise NotFoundError("File not found")

    async def show(self, caller: Caller, file_id: str) -> FileView:
        record = await self._store.get_owned(file_id, _owner(caller))
        if record is None:
            raise NotFoundError()
        return file_view(record)

    async def list_children(self, caller: Caller, parent_id: str | None, page: str | None) -> list[FileView]:
        owner = _owner(caller)
        page_number = parse_page(page)
        parent = parent_id if parent_id not in (None, "") else "0"
        assert parent is not None
        return [file_view(r) for r in await self._store.list_children(owner, parent, page_number)]

    async def set_public(self, caller: Caller, file_id: str, is_public: bool) -> FileView:
        record = await self._store.set_public(file_id, _owner(caller), is_public)
        if record is None:
            raise NotFoundError()
        return file_view(record)

    async def change(self, caller: Caller, file_id: str, patch: PatchRequest) -> FileView:
        """Rename and/or move within the caller's own tree; a folder never into itself or its subtree."""
        owner = _owner(caller)
        if patch.parent_id is None:  # a rename is one conditional write: no lease needed
            return await self._apply(owner, file_id, patch)
        # A move reads the target's ancestry, then writes: under the owner's lease, so that two crossed
        # moves (X into Y, Y into X) cannot both pass the check (I1), and no delete walks meanwhile (I2).
        async with self._leases.hold(owner) as held:
            record = await self._store.get_owned(file_id, owner)
            if record is None:
                raise NotFoundError()
            await self._check_move_target(owner, patch.parent_id, record.id)
            held.check()
            return await self._apply(owner, file_id, patch)

    async def _apply(self, owner: str, file_id: str, patch: PatchRequest) -> FileView:
        updated = await self._store.update(file_id, owner, Changes(name=patch.name, parent_id=patch.parent_id))
        if updated is None:
            raise NotFoundError()
        return file_view(updated)

    async def _check_move_target(self, owner: str, target_id: int | str, moving_id: str) -> None:
        """The target is a live folder whose every ancestor is live, and `moving_id` is none of them."""
        await self._check_parent(owner, target_id)
        async for folder in self.ancestors(owner, target_id):
            if folder.id.lower() == moving_id.lower():
                raise ConflictError("Cannot move a folder into itself or its subtree")

    async def ancestors(self, owner: str, parent_id: int | str) -> AsyncIterator[FileRecord]:
        """The live records from `parent_id` up to the root. A missing or deleted one (being deleted) is
        `Parent not found`; a cycle left by an older version is refused rather than walked forever."""
        current, seen = parent_id, set[str]()
        for _ in range(MAX_TREE_DEPTH):
            if is_root(current):
                return
            key = str(current).lower()
            if key in seen:
                raise ConflictError("Folder tree is damaged; run the files check")
            seen.add(key)
            folder = await self._store.get_owned(key, owner)
            if folder is None:
                raise ValidationError("Parent not found")
            yield folder
            current = folder.parent_id
        raise ConflictError("Folder tree too deep")

    async def delete(self, caller: Caller, file_id: str) -> None:
        """Mark the record, then its whole subtree (hidden from every read from then on), then remove the
        bytes, then the records. A crash at any point leaves marks that `purge_pending` completes."""
        owner = _owner(caller)
        async with self._leases.hold(owner) as held:
            record = await self._store.get_owned(file_id, owner)
            if record is None:
                raise NotFoundError()
            held.check()
            await self._store.mark_deleted([record.id], time.time())
            doomed = await self._mark_subtree([record])
        await self._purge(doomed)

    async def _mark_subtree(self, roots: list[FileRecord]) -> list[FileRecord]:
        """Walk down from marked `roots`; a folder is marked when found, so always before its children are
        read (see `_confirm_parent`). The visited set bounds the walk by the number of records, cycles or not."""
        doomed = list(roots)
        seen = {record.id for record in roots}
        frontier = [record for record in roots if record.type == "folder"]
        while frontier:
            folder = frontier.pop()
            fresh = [child for child in await self._store.children(folder.user_id, folder.id) if child.id not in seen]
            if not fresh:
                continue
            await self._store.mark_deleted([child.id for child in fresh], time.time())
            seen.update(child.id for child in fresh)
            doomed.extend(fresh)
            frontier.extend(child for child in fresh if child.type == "folder")
        return doomed

    async def _purge(self, records: list[FileRecord]) -> None:
        """Bytes and thumbnails first, then the records, deepest last-found first: a record goes only
        after its bytes, so a crash never leaves bytes without a record to find them by."""
        await self._blobs.remove_with_thumbnails([r.local_path for r in records if r.local_path])
        await self._store.delete_many([r.id for r in reversed(records)])

    async def purge_pending(self, limit: int = 500) -> int:
        """Finish deletes that a crash interrupted: mark what lies under marked folders (under each owner's
        lease, as a delete does), then purge. Idempotent: a delete still running elsewhere loses nothing."""
        purged = 0
        while batch := await self._store.marked(limit):
            by_owner: dict[str, list[FileRecord]] = {}
            for record in batch:
                by_owner.setdefault(record.user_id, []).append(record)
            for owner, roots in by_owner.items():
                async with self._leases.hold(owner):
                    doomed = await self._mark_subtree(roots)
                await self._purge(doomed)
                purged += len(doomed)
            if len(batch) < limit:
                break
        return purged

    async def download(self, caller: Caller, file_id: str, size: str | None) -> Download:
        record = await self._store.get(file_id)
        if record is None:
            raise NotFoundError()
        if not record.is_public and (caller.anonymous or caller.user_id.lower() != record.user_id.lower()):
            raise NotFoundError()
        if record.type == "folder":
            raise ValidationError("A folder doesn't have content")
        if not record.local_path:
            raise NotFoundError()
        path = record.local_path
        if size is not None:
            if size not in THUMBNAIL_SIZES:
                raise NotFoundError()
            path = f"{path}_{size}"
        # An original of at most INLINE_BYTES is read here in the same thread hand-off as its stat and sent
        # from memory: cheaper than having the gateway open it (ADR 13). Thumbnails keep FileResponse's ETag.
        read_up_to = INLINE_BYTES if size is None and record.sha256 else None
        found = await self._blobs.stat_or_read(path, read_up_to)
        if found is None:
            raise NotFoundError()
        size_on_disk, modified, content = found
        if size is None and record.size is not None and size_on_disk != record.size:
            # Never send bytes that are not the recorded ones: a truncated or replaced blob fails loudly.
            log.error("blob of %s is %d bytes, its record says %d: not served", record.id, size_on_disk, record.size)
            raise DataIntegrityError("Stored content does not match its record")
        return Download(path, content_type(record.name), record, size is None, size_on_disk, modified, content)
