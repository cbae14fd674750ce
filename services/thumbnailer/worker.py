"""The `fileQueue` job: the contract's checks, then the three thumbnails beside the original."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from services.thumbnailer.images import UnsupportedImageError, render_thumbnails
from services.thumbnailer.sources import Sources
from shared.jobs import JobRejected

log = logging.getLogger(__name__)


class ThumbnailWorker:
    def __init__(self, sources: Sources, max_pixels: int, concurrency: int = 2) -> None:
        self._sources = sources
        self._max_pixels = max_pixels
        self._slots = asyncio.Semaphore(concurrency)

    async def handle(self, payload: dict[str, Any]) -> None:
        file_id = payload.get("fileId")
        if not file_id:
            raise JobRejected("Missing fileId")
        user_id = payload.get("userId")
        if not user_id:
            raise JobRejected("Missing userId")
        source = await self._sources.find(str(file_id), str(user_id))
        if source is None:
            raise JobRejected("File not found")
        if not source.local_path:
            raise JobRejected("File not found")
        try:
            async with self._slots:
                written = await asyncio.to_thread(render_thumbnails, source.local_path, self._max_pixels)
        except FileNotFoundError as exc:
            raise JobRejected("File not found") from exc
        except UnsupportedImageError as exc:
            await self._sources.mark(source.file_id, "failed")
            raise JobRejected(str(exc)) from exc
        # The image may have been deleted while we rendered. A delete marks the record, then removes the
        # thumbnails; we wrote them, then read the record: one of us sees the other, so none outlives it (I4).
        if await self._sources.find(str(file_id), str(user_id)) is None:
            await asyncio.to_thread(_remove, list(written.values()))
            raise JobRejected("File not found")
        await self._sources.mark(source.file_id, "ready")
        log.info("thumbnails ready for %s", source.file_id)


def _remove(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
