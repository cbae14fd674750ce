"""Thumbnailer: consumes `fileQueue`; its HTTP port only serves health checks."""

from __future__ import annotations

from aiohttp import web

from services.thumbnailer.settings import ThumbnailerSettings
from services.thumbnailer.sources import sources
from services.thumbnailer.worker import ThumbnailWorker
from shared.engines import METADATA_KEY, setup_consumer, setup_engines
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.jobs import FILE_QUEUE, JobHandler, RetryPolicy

SETTINGS_KEY = web.AppKey("settings", ThumbnailerSettings)


def thumbnail_worker(app: web.Application) -> JobHandler:
    return ThumbnailWorker(sources(app[METADATA_KEY]), app[SETTINGS_KEY].max_pixels).handle


def create_app(settings: ThumbnailerSettings | None = None) -> web.Application:
    settings = settings or ThumbnailerSettings.from_env()
    app = web.Application(handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    checks = setup_engines(app, settings.engines, jobs=True, job_policy=RetryPolicy(max_attempts=settings.max_attempts))
    checks["consumer"] = setup_consumer(app, FILE_QUEUE, thumbnail_worker)
    setup_health(app, checks)
    return app
