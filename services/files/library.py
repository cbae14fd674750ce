"""The files rules of the contract: upload, show, list, publish, and what a download serves. No HTTP here."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from services.files.blobs import BlobStorage
from services.files.files_store import FileRecord, FileStore
from services.files.mime import content_type
from services.files.uploads import UploadRequest, decode_base64
from shared.errors import AuthenticationError, NotFoundError, ValidationError
from shared.identity import Caller
from shared.ids import is_object_id, new_id
from shared.jobs import FILE_QUEUE, JobQueue

log = logging.getLogger(__name__)

THUMBNAIL_SIZES = frozenset({"500", "250", "100"})
MAX_PAGE = 1_000_000


def file_view(record: FileRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "userId": record.user_id,
        "name": record.name,
        "type": record.type,
        "isPublic": record.is_public,
        "parentId": record.parent_id,
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
    path: str
    content_type: str
    record: FileRecord


def _owner(caller: Caller) -> str:
    if caller.anonymous:
        raise AuthenticationError()
    return caller.user_id


class Library:
    def __init__(self, store: FileStore, blobs: BlobStorage, jobs: JobQueue) -> None:
        self._store = store
        self._blobs = blobs
        self._jobs = jobs

    async def upload(self, caller: Caller, upload: UploadRequest) -> dict[str, Any]:
        owner = _owner(caller)
        if upload.parent_id != 0:
            parent = (
                await self._store.get_owned(str(upload.parent_id), owner) if is_object_id(upload.parent_id) else None
            )
            if parent is None:
                raise ValidationError("Parent not found")
            if parent.type != "folder":
                raise ValidationError("Parent is not a folder")
        record = FileRecord(
            id=new_id(),
            user_id=owner,
            name=upload.name,
            type=upload.type,
            is_public=upload.is_public,
            parent_id=upload.parent_id,
            created_at=time.time(),
        )
        if upload.type != "folder":
            assert upload.data is not None
            content = decode_base64(upload.data)
            blob = await self._blobs.write(content)
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
        else:
            await self._store.insert(record)
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
        return Download(path=path, content_type=content_type(record.name), record=record)
