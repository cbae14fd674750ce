"""Auth service: accounts, tokens, and the welcome-mail consumer of `userQueue`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.auth.accounts import Accounts
from services.auth.handlers import ACCOUNTS_KEY
from services.auth.passwords import PasswordHashing
from services.auth.routes import setup_routes
from services.auth.settings import AuthSettings
from services.auth.users_store import user_store
from services.auth.welcome import WelcomeMailer
from shared.database import Metadata, open_metadata
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.identity import setup_identity
from shared.jobs import USER_QUEUE, JobQueue, open_job_queue, run_consumer, stop_task
from shared.tokens import TokenStore, open_token_store

SETTINGS_KEY = web.AppKey("settings", AuthSettings)
METADATA_KEY = web.AppKey("metadata", Metadata)
TOKENS_KEY = web.AppKey("tokens", TokenStore)
JOBS_KEY = web.AppKey("jobs", JobQueue)


async def metadata_ctx(app: web.Application) -> AsyncIterator[None]:
    app[METADATA_KEY] = await open_metadata(app[SETTINGS_KEY].engines)
    yield
    await app[METADATA_KEY].close()


async def tokens_ctx(app: web.Application) -> AsyncIterator[None]:
    app[TOKENS_KEY] = await open_token_store(app[SETTINGS_KEY].engines, app[METADATA_KEY])
    yield
    await app[TOKENS_KEY].close()


async def jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    app[JOBS_KEY] = await open_job_queue(app[SETTINGS_KEY].engines, app[METADATA_KEY])
    yield
    await app[JOBS_KEY].close()


async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    app[ACCOUNTS_KEY] = Accounts(
        user_store(app[METADATA_KEY]), app[TOKENS_KEY], app[JOBS_KEY], PasswordHashing(settings.hash_concurrency)
    )
    yield


async def welcome_consumer_ctx(app: web.Application) -> AsyncIterator[None]:
    mailer = WelcomeMailer(user_store(app[METADATA_KEY]), app[SETTINGS_KEY].smtp)
    task = await run_consumer(app[JOBS_KEY], USER_QUEUE, mailer.handle)
    yield
    await stop_task(task)


def create_app(settings: AuthSettings | None = None) -> web.Application:
    settings = settings or AuthSettings.from_env()
    app = web.Application(client_max_size=64 * 1024, handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    setup_identity(app, settings.engines.internal_secret)
    app.cleanup_ctx.extend([metadata_ctx, tokens_ctx, jobs_ctx, accounts_ctx, welcome_consumer_ctx])
    setup_routes(app)

    async def metadata_ready() -> bool:
        return await app[METADATA_KEY].ping()

    async def tokens_ready() -> bool:
        return await app[TOKENS_KEY].ping()

    async def jobs_ready() -> bool:
        return await app[JOBS_KEY].ping()

    setup_health(app, {"metadata": metadata_ready, "tokens": tokens_ready, "jobs": jobs_ready})
    return app
