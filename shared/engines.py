"""The engine resources of a service, each opened in its own cleanup_ctx under AppKeys all services share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from shared.database import Metadata, open_metadata
from shared.health import Check
from shared.jobs import Consumer, JobHandler, JobQueue, RetryPolicy, open_job_queue, run_consumer
from shared.settings import EngineSettings
from shared.tokens import TokenStore, open_token_store

METADATA_KEY = web.AppKey("metadata", Metadata)
TOKENS_KEY = web.AppKey("tokens", TokenStore)
JOBS_KEY = web.AppKey("jobs", JobQueue)
CONSUMER_KEY = web.AppKey("consumer", Consumer)


def setup_engines(
    app: web.Application,
    engines: EngineSettings,
    *,
    tokens: bool = False,
    jobs: bool = False,
    job_policy: RetryPolicy | None = None,
) -> dict[str, Check]:
    """Open the metadata engine, and the token store and job queue when asked; return readiness checks.

    Call it before adding the service's own cleanup contexts: they may use these resources.
    """

    async def metadata_ctx(app: web.Application) -> AsyncIterator[None]:
        app[METADATA_KEY] = await open_metadata(engines)
        yield
        await app[METADATA_KEY].close()

    async def tokens_ctx(app: web.Application) -> AsyncIterator[None]:
        app[TOKENS_KEY] = await open_token_store(engines, app[METADATA_KEY])
        yield
        await app[TOKENS_KEY].close()

    async def jobs_ctx(app: web.Application) -> AsyncIterator[None]:
        app[JOBS_KEY] = await open_job_queue(engines, app[METADATA_KEY], policy=job_policy)
        yield
        await app[JOBS_KEY].close()

    async def metadata_ready() -> bool:
        return await app[METADATA_KEY].ping()

    async def tokens_ready() -> bool:
        return await app[TOKENS_KEY].ping()

    async def jobs_ready() -> bool:
        return await app[JOBS_KEY].ping()

    app.cleanup_ctx.append(metadata_ctx)
    checks: dict[str, Check] = {"metadata": metadata_ready}
    if tokens:
        app.cleanup_ctx.append(tokens_ctx)
        checks["tokens"] = tokens_ready
    if jobs:
        app.cleanup_ctx.append(jobs_ctx)
        checks["jobs"] = jobs_ready
    return checks


def setup_consumer(app: web.Application, queue: str, make_handler: Callable[[web.Application], JobHandler]) -> Check:
    """Consume `queue` with a supervised consumer for the app's life (after the cleanup contexts added
    before this call, whose resources `make_handler` may use); return its readiness check."""

    async def consumer_ctx(app: web.Application) -> AsyncIterator[None]:
        app[CONSUMER_KEY] = await run_consumer(app[JOBS_KEY], queue, make_handler(app))
        yield
        await app[CONSUMER_KEY].stop()

    async def consumer_ready() -> bool:
        return CONSUMER_KEY in app and app[CONSUMER_KEY].alive

    app.cleanup_ctx.append(consumer_ctx)
    return consumer_ready
