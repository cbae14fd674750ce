"""Files service: metadata of the `files` collection, the bytes under FOLDER_PATH, `fileQueue` jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from services.files.blobs import BlobStorage
from services.files.files_store import file_store
from services.files.handlers import BLOBS_KEY, LIBRARY_KEY, MAX_UPLOAD_KEY
from services.files.library import Library
from services.files.routes import setup_routes
from services.files.settings import FilesSettings
from shared.engines import JOBS_KEY, METADATA_KEY, setup_engines
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.identity import setup_identity

log = logging.getLogger(__name__)

SETTINGS_KEY = web.AppKey("settings", FilesSettings)
TEMP_FILE_MAX_AGE = 3600.0  # seconds without a write before a temp file counts as abandoned


async def library_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    app[BLOBS_KEY] = BlobStorage(settings.folder_path)
    app[LIBRARY_KEY] = Library(file_store(app[METADATA_KEY]), app[BLOBS_KEY], app[JOBS_KEY])
    yield


async def reconciler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Re-publishes thumbnail jobs of images still pending after a while (a publish lost to an outage),
    and removes temp files abandoned by a crashed process."""
    settings = app[SETTINGS_KEY]

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.reconcile_interval)
            try:
                count = await app[LIBRARY_KEY].republish_stale(settings.reconcile_after)
                if count:
                    log.info("re-published %d pending thumbnail job(s)", count)
                swept = await app[BLOBS_KEY].sweep_temp_files(TEMP_FILE_MAX_AGE)
                if swept:
                    log.info("removed %d abandoned temp file(s)", swept)
            except Exception as exc:  # noqa: BLE001 - try again next round
                log.warning("reconciler round failed: %r", exc)

    task = asyncio.create_task(loop(), name="thumbnail-reconciler")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: FilesSettings | None = None) -> web.Application:
    settings = settings or FilesSettings.from_env()
    app = web.Application(client_max_size=settings.max_json_body, handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    app[MAX_UPLOAD_KEY] = settings.max_upload
    setup_errors(app)
    setup_identity(app, settings.engines.internal_secret)
    checks = setup_engines(app, settings.engines, jobs=True)
    app.cleanup_ctx.extend([library_ctx, reconciler_ctx])
    setup_routes(app)
    setup_health(app, checks)
    return app
