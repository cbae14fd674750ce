"""Auth service: accounts, tokens, and the welcome-mail consumer of `userQueue`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.auth.accounts import Accounts
from services.auth.handlers import ACCOUNTS_KEY
from services.auth.passwords import PasswordHashing
from services.auth.routes import setup_routes
from services.auth.settings import AuthSettings
from services.auth.throttle import LoginThrottle, open_attempts
from services.auth.users_store import SCHEMA, user_store
from services.auth.welcome import WelcomeMailer
from shared.database import METADATA_KEY, setup_metadata
from shared.errors import setup_errors
from shared.health import setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.identity import setup_identity
from shared.jobs import JOBS_KEY, USER_QUEUE, JobHandler, queue_depth, setup_consumer, setup_job_queue
from shared.logs import setup_request_logging
from shared.metrics import setup_metrics
from shared.tokens import TOKENS_KEY, setup_token_store

SETTINGS_KEY = web.AppKey("settings", AuthSettings)


async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    throttle = LoginThrottle(await open_attempts(app), settings.throttle)
    app[ACCOUNTS_KEY] = Accounts(
        user_store(app[METADATA_KEY]),
        app[TOKENS_KEY],
        app[JOBS_KEY],
        PasswordHashing(settings.hash_concurrency),
        throttle,
    )
    yield


def welcome_mail(app: web.Application) -> JobHandler:
    return WelcomeMailer(user_store(app[METADATA_KEY]), app[SETTINGS_KEY].smtp).handle


def create_app(settings: AuthSettings | None = None) -> web.Application:
    settings = settings or AuthSettings.from_env()
    app = web.Application(client_max_size=64 * 1024, handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    setup_request_logging(app, "auth", make_ids=False)
    setup_identity(app, settings.engines.internal_secret)
    checks = {
        "metadata": setup_metadata(app, settings.engines, SCHEMA),  # users
        "tokens": setup_token_store(app, settings.engines),
        "jobs": setup_job_queue(app, settings.engines),
    }
    app.cleanup_ctx.append(accounts_ctx)
    checks["consumer"] = setup_consumer(app, USER_QUEUE, welcome_mail)
    setup_routes(app)
    setup_health(app, checks)
    setup_metrics(app, queue_depth(app, USER_QUEUE))
    return app
