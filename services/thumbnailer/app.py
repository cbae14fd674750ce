"""Thumbnailer: consumes `fileQueue`; its HTTP port only serves health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.thumbnailer.settings import ThumbnailerSettings
from services.thumbnailer.sources import sources
from services.thumbnailer.worker import ThumbnailWorker
from shared.engines import JOBS_KEY, METADATA_KEY, setup_engines
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.jobs import FILE_QUEUE, Consumer, RetryPolicy, run_consumer

CONSUMER_KEY = web.AppKey("consumer", Consumer)
SETTINGS_KEY = web.AppKey("settings", ThumbnailerSettings)


async def consumer_ctx(app: web.Application) -> AsyncIterator[None]:
    worker = ThumbnailWorker(sources(app[METADATA_KEY]), app[SETTINGS_KEY].max_pixels)
    consumer = await run_consumer(app[JOBS_KEY], FILE_QUEUE, worker.handle)
    app[CONSUMER_KEY] = consumer
    yield
    await consumer.stop()


def create_app(settings: ThumbnailerSettings | None = None) -> web.Application:
    settings = settings or ThumbnailerSettings.from_env()
    app = web.Application(handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    checks = setup_engines(app, settings.engines, jobs=True, job_policy=RetryPolicy(max_attempts=settings.max_attempts))
    app.cleanup_ctx.append(consumer_ctx)

    async def consumer_ready() -> bool:
        return CONSUMER_KEY in app and app[CONSUMER_KEY].alive

    setup_health(app, {**checks, "consumer": consumer_ready})
    return app
