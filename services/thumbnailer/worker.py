"""The `fileQueue` job: the contract's checks, then the three thumbnails beside the original."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from services.thumbnailer.files_client import Images
from services.thumbnailer.images import UnsupportedImageError, render_thumbnails
from shared.ids import is_object_id
from shared.jobs import JobRejected

log = logging.getLogger(__name__)


class ThumbnailWorker:
    def __init__(self, images: Images, max_pixels: int, concurrency: int = 2) -> None:
        self._images = images
        self._max_pixels = max_pixels
        self._slots = asyncio.Semaphore(concurrency)

    async def handle(self, payload: dict[str, Any]) -> None:
        file_id = payload.get("fileId")
        if not file_id:
            raise JobRejected("Missing fileId")
        user_id = payload.get("userId")
        if not user_id:
            raise JobRejected("Missing userId")
        file_id, user_id = str(file_id), str(user_id)
        if not is_object_id(file_id) or not is_object_id(user_id):
            raise JobRejected("File not found")
        source = await self._images.source(file_id, user_id)
        local_path = source["localPath"] if source else None
        if not local_path:
            raise JobRejected("File not found")
        try:
            async with self._slots:
                written = await asyncio.to_thread(render_thumbnails, local_path, self._max_pixels)
        except FileNotFoundError as exc:
            raise JobRejected("File not found") from exc
        except UnsupportedImageError as exc:
            await self._images.report(file_id, user_id, "failed")
            raise JobRejected(str(exc)) from exc
        # The image may have been deleted while we rendered. A delete marks the record, then removes the
        # thumbnails; we wrote them, then report, which finds the record marked or gone: one of us sees
        # the other, so none outlives it (I4).
        if not await self._images.report(file_id, user_id, "ready"):
            await asyncio.to_thread(_remove, list(written.values()))
            raise JobRejected("File not found")
        log.info("thumbnails ready for %s", file_id)


def _remove(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
