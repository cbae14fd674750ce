"""Thumbnailer: consumes `fileQueue`; its HTTP port only serves health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.thumbnailer.settings import ThumbnailerSettings
from services.thumbnailer.sources import sources
from services.thumbnailer.worker import ThumbnailWorker
from shared.database import Metadata, open_metadata
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.jobs import FILE_QUEUE, JobQueue, RetryPolicy, open_job_queue, run_consumer, stop_task

SETTINGS_KEY = web.AppKey("settings", ThumbnailerSettings)
METADATA_KEY = web.AppKey("metadata", Metadata)
JOBS_KEY = web.AppKey("jobs", JobQueue)
WORKER_KEY = web.AppKey("worker", ThumbnailWorker)


async def metadata_ctx(app: web.Application) -> AsyncIterator[None]:
    app[METADATA_KEY] = await open_metadata(app[SETTINGS_KEY].engines)
    yield
    await app[METADATA_KEY].close()


async def jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    policy = RetryPolicy(max_attempts=settings.max_attempts)
    app[JOBS_KEY] = await open_job_queue(settings.engines, app[METADATA_KEY], policy=policy)
    yield
    await app[JOBS_KEY].close()


async def consumer_ctx(app: web.Application) -> AsyncIterator[None]:
    worker = ThumbnailWorker(sources(app[METADATA_KEY]), app[SETTINGS_KEY].max_pixels)
    app[WORKER_KEY] = worker
    task = await run_consumer(app[JOBS_KEY], FILE_QUEUE, worker.handle)
    yield
    await stop_task(task)


def create_app(settings: ThumbnailerSettings | None = None) -> web.Application:
    settings = settings or ThumbnailerSettings.from_env()
    app = web.Application(handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    app.cleanup_ctx.extend([metadata_ctx, jobs_ctx, consumer_ctx])

    async def metadata_ready() -> bool:
        return await app[METADATA_KEY].ping()

    async def jobs_ready() -> bool:
        return await app[JOBS_KEY].ping()

    setup_health(app, {"metadata": metadata_ready, "jobs": jobs_ready})
    return app
