"""Files service: metadata of the `files` collection, the bytes (under FOLDER_PATH, or in S3), `fileQueue` jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from services.files import files_store, tree_lease
from services.files.blobs import BlobStorage
from services.files.files_store import file_store
from services.files.fsck import Checker
from services.files.handlers import (
    BLOBS_KEY,
    CONTRACT_VIEWS_KEY,
    LIBRARY_KEY,
    MAX_JSON_UPLOAD_KEY,
    MAX_UPLOAD_KEY,
)
from services.files.library import Library, claim_lifetime
from services.files.routes import setup_routes
from services.files.serving import DOWNLOADS_KEY, ObjectDownloads
from services.files.settings import FilesSettings
from services.files.tree_lease import TreeLeases, lease_store
from shared.database import METADATA_KEY, setup_metadata
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.identity import setup_identity
from shared.jobs import JOBS_KEY, setup_job_queue
from shared.logs import setup_request_logging
from shared.metrics import setup_metrics
from shared.objects import OBJECTS_KEY, setup_objects

log = logging.getLogger(__name__)

SETTINGS_KEY = web.AppKey("settings", FilesSettings)
CHECKER_KEY = web.AppKey("checker", Checker)
RECOVERY_TIMEOUT = 30.0  # seconds the start-up may spend finishing interrupted deletes before serving


async def library_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    store = file_store(app[METADATA_KEY])
    leases = TreeLeases(lease_store(app[METADATA_KEY]), ttl=settings.tree_lease_seconds)
    app[BLOBS_KEY] = BlobStorage(settings.folder_path, app.get(OBJECTS_KEY))
    app[LIBRARY_KEY] = Library(store, app[BLOBS_KEY], app[JOBS_KEY], leases, settings.max_thumbnail_requests)
    app[CHECKER_KEY] = Checker(store, app[BLOBS_KEY], app[LIBRARY_KEY], leases)
    # Deletes a crash interrupted are finished before the first request, so none is seen half done.
    try:
        async with asyncio.timeout(RECOVERY_TIMEOUT):
            purged = await app[LIBRARY_KEY].purge_pending()
        if purged:
            log.info("finished interrupted deletes: %d record(s) removed", purged)
    except Exception as exc:  # noqa: BLE001 - an engine still starting: the reconciler finishes them
        log.warning("interrupted deletes not finished at start-up: %r", exc)
    yield


async def reconciler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background upkeep, first at start-up then every interval: temp files of dead writers, interrupted
    deletes, thumbnail jobs of images still pending (bounded), and unreferenced blobs past their grace."""
    settings = app[SETTINGS_KEY]
    library, blobs, checker = app[LIBRARY_KEY], app[BLOBS_KEY], app[CHECKER_KEY]

    stale_after = claim_lifetime(settings.reconcile_after, app[JOBS_KEY].publish_timeout)
    if stale_after > settings.reconcile_after:
        log.warning(
            "THUMBNAIL_RECONCILE_AFTER=%gs is less than twice the job queue's publish timeout: %gs is used",
            settings.reconcile_after,
            stale_after,
        )

    async def republish() -> int:
        return await library.republish_stale(stale_after)

    async def sweep_blobs() -> int:
        return await checker.sweep_unreferenced(settings.blob_grace)

    steps = {
        "removed temp file(s) of dead writers": blobs.sweep_temp_files,
        "finished interrupted deletes, record(s)": library.purge_pending,
        "re-published pending thumbnail job(s)": republish,
    }

    async def loop() -> None:
        last_blob_sweep = -float("inf")
        while True:
            todo = dict(steps)
            if time.monotonic() - last_blob_sweep >= settings.blob_sweep_interval:
                last_blob_sweep = time.monotonic()
                todo["removed unreferenced blob(s) past their grace"] = sweep_blobs
            for name, step in todo.items():
                try:
                    count = await step()
                except Exception as exc:  # noqa: BLE001 - try again next round
                    log.warning("upkeep step failed (%s): %r", name, exc)
                    continue
                if count:
                    log.info("%s: %d", name, count)
            await asyncio.sleep(settings.reconcile_interval)

    task = asyncio.create_task(loop(), name="files-upkeep")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: FilesSettings | None = None) -> web.Application:
    settings = settings or FilesSettings.from_env()
    app = web.Application(client_max_size=settings.max_json_body, handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    app[MAX_UPLOAD_KEY] = settings.max_upload
    app[MAX_JSON_UPLOAD_KEY] = settings.max_json_upload
    app[CONTRACT_VIEWS_KEY] = settings.contract_views
    setup_errors(app)
    setup_request_logging(app, "files", make_ids=False)
    setup_identity(app, settings.engines.internal_secret)
    checks = {
        "metadata": setup_metadata(app, settings.engines, files_store.SCHEMA, tree_lease.SCHEMA),
        "jobs": setup_job_queue(app, settings.engines),
    }
    if settings.objects is not None:
        checks["objects"] = setup_objects(app, settings.objects)
    app[DOWNLOADS_KEY] = ObjectDownloads(settings.redirect_downloads, settings.presign_seconds)
    app.cleanup_ctx.extend([library_ctx, reconciler_ctx])
    setup_routes(app)
    setup_health(app, checks)
    setup_metrics(app)
    return app
