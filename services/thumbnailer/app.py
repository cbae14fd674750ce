"""Thumbnailer: consumes `fileQueue` and reports each outcome to the files service; it owns no table, and
its HTTP port only serves health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from services.thumbnailer.files_client import FilesClient
from services.thumbnailer.settings import ThumbnailerSettings
from services.thumbnailer.worker import ThumbnailWorker
from shared.errors import setup_errors
from shared.health import alive_at, setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.internal import InternalClient
from shared.jobs import FILE_QUEUE, JobHandler, RetryPolicy, queue_depth, setup_consumer, setup_job_queue
from shared.logs import setup_request_logging
from shared.metrics import setup_metrics
from shared.objects import OBJECTS_KEY, setup_objects

SETTINGS_KEY = web.AppKey("settings", ThumbnailerSettings)
SESSION_KEY = web.AppKey("files_session", aiohttp.ClientSession)


async def session_ctx(app: web.Application) -> AsyncIterator[None]:
    app[SESSION_KEY] = aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=30, sock_connect=5)
    )
    yield
    await app[SESSION_KEY].close()


def thumbnail_worker(app: web.Application) -> JobHandler:
    settings = app[SETTINGS_KEY]
    files = FilesClient(InternalClient(app[SESSION_KEY], settings.files_url, settings.engines.internal_secret))
    return ThumbnailWorker(files, settings.max_pixels, objects=app.get(OBJECTS_KEY)).handle


def create_app(settings: ThumbnailerSettings | None = None) -> web.Application:
    settings = settings or ThumbnailerSettings.from_env()
    app = web.Application(handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    setup_request_logging(app, "thumbnailer", make_ids=False)
    checks = {"jobs": setup_job_queue(app, settings.engines, RetryPolicy(max_attempts=settings.max_attempts))}
    if settings.objects is not None:
        checks["objects"] = setup_objects(app, settings.objects)
    app.cleanup_ctx.append(session_ctx)
    checks["consumer"] = setup_consumer(app, FILE_QUEUE, thumbnail_worker)

    def session() -> aiohttp.ClientSession:
        return app[SESSION_KEY]

    checks["files"] = alive_at(session, settings.files_url)
    setup_health(app, checks)
    setup_metrics(app, queue_depth(app, FILE_QUEUE))
    return app
