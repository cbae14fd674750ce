"""The files rules: upload, show, list, publish, rename/move, delete, and what a download serves. No HTTP here."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.files.blobs import BlobStorage, StoredBlob
from services.files.files_store import Changes, FileRecord, FileStore, is_root
from services.files.mime import content_type
from services.files.uploads import PatchRequest, UploadRequest
from shared.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from shared.identity import Caller
from shared.ids import is_object_id, new_id
from shared.jobs import FILE_QUEUE, JobQueue

log = logging.getLogger(__name__)

THUMBNAIL_SIZES = frozenset({"500", "250", "100"})
MAX_PAGE = 1_000_000
MAX_TREE_DEPTH = 10_000

StageBytes = Callable[[], Awaitable[StoredBlob]]


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_view(record: FileRecord) -> dict[str, Any]:
    """The contract's six fields with their exact meaning, then additive metadata."""
    view: dict[str, Any] = {
        "id": record.id,
        "userId": record.user_id,
        "name": record.name,
        "type": record.type,
        "isPublic": record.is_public,
        "parentId": record.parent_id,
    }
    if record.type != "folder":
        view["size"] = record.size
        view["sha256"] = record.sha256
        view["mimeType"] = content_type(record.name).split(";")[0]
    if record.type == "image":
        view["thumbnail"] = record.thumbnail
    view["createdAt"] = _iso(record.created_at)
    view["updatedAt"] = _iso(record.updated_at or record.created_at)
    return view


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
    path: str
    content_type: str
    record: FileRecord
    original: bool  # the file itself, not a thumbnail


def _owner(caller: Caller) -> str:
    if caller.anonymous:
        raise AuthenticationError()
    return caller.user_id


class Library:
    def __init__(self, store: FileStore, blobs: BlobStorage, jobs: JobQueue) -> None:
        self._store = store
        self._blobs = blobs
        self._jobs = jobs

    async def _check_parent(self, owner: str, parent_id: int | str) -> None:
        if is_root(parent_id):
            return
        parent = await self._store.get_owned(str(parent_id), owner) if is_object_id(parent_id) else None
        if parent is None:
            raise ValidationError("Parent not found")
        if parent.type != "folder":
            raise ValidationError("Parent is not a folder")

    async def upload(self, caller: Caller, upload: UploadRequest, stage: StageBytes | None) -> dict[str, Any]:
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
            return file_view(record)
        assert stage is not None
        blob = await stage()
        record.local_path, record.size, record.sha256 = blob.local_path, blob.size, blob.sha256
        if upload.type == "image":
            record.thumbnail = "pending"
        try:
            await self._store.insert(record)
        except BaseException:
            await self._blobs.remove(blob.local_path)
            raise
        if upload.type == "image":
            await self.request_thumbnails(record)
        return file_view(record)

    async def request_thumbnails(self, record: FileRecord) -> None:
        """Publish after the metadata is committed; a lost job is re-published by the reconciler."""
        try:
            await self._jobs.publish(FILE_QUEUE, {"userId": record.user_id, "fileId": record.id})
        except Exception as exc:  # noqa: BLE001 - the upload stands; the reconciler retries the job
            log.warning("thumbnail job for %s not published yet: %r", record.id, exc)

    async def republish_stale(self, older_than_seconds: float, limit: int = 100) -> int:
        stale = await self._store.stale_thumbnails(time.time() - older_than_seconds, limit)
        for record in stale:
            await self.request_thumbnails(record)
        return len(stale)

    async def show(self, caller: Caller, file_id: str) -> dict[str, Any]:
        record = await self._store.get_owned(file_id, _owner(caller))
        if record is None:
            raise NotFoundError()
        return file_view(record)

    async def list(self, caller: Caller, parent_id: str | None, page: str | None) -> list[dict[str, Any]]:
        owner = _owner(caller)
        page_number = parse_page(page)
        parent = parent_id if parent_id not in (None, "") else "0"
        assert parent is not None
        return [file_view(r) for r in await self._store.list_children(owner, parent, page_number)]

    async def set_public(self, caller: Caller, file_id: str, is_public: bool) -> dict[str, Any]:
        record = await self._store.set_public(file_id, _owner(caller), is_public)
        if record is None:
            raise NotFoundError()
        return file_view(record)

    async def change(self, caller: Caller, file_id: str, patch: PatchRequest) -> dict[str, Any]:
        """Rename and/or move within the caller's own tree; a folder never into itself or its subtree."""
        owner = _owner(caller)
        record = await self._store.get_owned(file_id, owner)
        if record is None:
            raise NotFoundError()
        if patch.parent_id is not None:
            await self._check_parent(owner, patch.parent_id)
            if record.type == "folder" and await self._is_within(owner, patch.parent_id, record.id):
                raise ConflictError("Cannot move a folder into itself or its subtree")
        updated = await self._store.update(file_id, owner, Changes(name=patch.name, parent_id=patch.parent_id))
        if updated is None:
            raise NotFoundError()
        return file_view(updated)

    async def _is_within(self, owner: str, folder_id: int | str, ancestor_id: str) -> bool:
        """True if `folder_id` is `ancestor_id` or lies under it."""
        current: int | str = folder_id
        for _ in range(MAX_TREE_DEPTH):
            if is_root(current):
                return False
            if str(current).lower() == ancestor_id.lower():
                return True
            parent = await self._store.get_owned(str(current), owner)
            if parent is None:
                return False
            current = parent.parent_id
        raise ConflictError("Folder tree too deep")

    async def delete(self, caller: Caller, file_id: str) -> None:
        """Metadata first (nothing stays visible), then the bytes and thumbnails of the whole subtree."""
        owner = _owner(caller)
        record = await self._store.get_owned(file_id, owner)
        if record is None:
            raise NotFoundError()
        doomed = [record]
        frontier = [record] if record.type == "folder" else []
        while frontier:
            folder = frontier.pop()
            children = await self._store.all_children(owner, folder.id)
            doomed.extend(children)
            frontier.extend(child for child in children if child.type == "folder")
        await self._store.delete_many([item.id for item in reversed(doomed)])
        await self._blobs.remove_with_thumbnails([item.local_path for item in doomed if item.local_path])

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
        if not await asyncio.to_thread(os.path.isfile, path):
            raise NotFoundError()
        return Download(path=path, content_type=content_type(record.name), record=record, original=size is None)
