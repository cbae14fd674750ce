"""Gateway: the only public port. Checks X-Token, signs the caller for upstreams, streams bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from services.gateway.authn import TokenResolver
from services.gateway.cors import setup_cors
from services.gateway.guard import guarded_runner
from services.gateway.handlers import (
    RESOLVER_KEY,
    STATS_KEY,
    STATUS_KEY,
    UPSTREAMS_KEY,
    Upstreams,
    stats_reader,
    status_cache,
)
from services.gateway.routes import setup_routes
from services.gateway.settings import GatewaySettings
from shared.errors import setup_errors
from shared.health import alive_at, setup_health
from shared.http import SERVER_HANDLER_ARGS
from shared.logs import setup_request_logging
from shared.metrics import setup_metrics
from shared.tokens import TOKENS_KEY, setup_token_store

SETTINGS_KEY = web.AppKey("settings", GatewaySettings)
# Larger reads from upstreams mean fewer, larger writes to clients: the proxy's cost is per chunk, not per byte.
UPSTREAM_READ_BUFFER = 1024 * 1024


async def access_ctx(app: web.Application) -> AsyncIterator[None]:
    app[RESOLVER_KEY] = TokenResolver(app[TOKENS_KEY])
    app[STATUS_KEY] = status_cache(app)
    app[STATS_KEY] = stats_reader(app)
    yield


async def upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    session = aiohttp.ClientSession(
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),  # never carry one caller's cookies to another
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=settings.upstream_connect_timeout, sock_read=settings.upstream_read_timeout
        ),
        connector=aiohttp.TCPConnector(limit=200),
        read_bufsize=UPSTREAM_READ_BUFFER,
    )
    app[UPSTREAMS_KEY] = Upstreams(
        session,
        settings.auth_url,
        settings.files_url,
        settings.engines.internal_secret,
        settings.sendfile_root,
        auth_timeout=_read_timeout(settings, settings.upstream_auth_timeout),
        files_timeout=_read_timeout(settings, settings.upstream_files_timeout),
        uploads=settings.uploads,
    )
    yield
    await session.close()


def _read_timeout(settings: GatewaySettings, seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=settings.upstream_connect_timeout, sock_read=seconds)


def create_app(settings: GatewaySettings | None = None) -> web.Application:
    settings = settings or GatewaySettings.from_env()
    # Bodies are streamed to upstreams, never read here, so client_max_size does not bound uploads.
    app = web.Application(handler_args=SERVER_HANDLER_ARGS)
    app[SETTINGS_KEY] = settings
    setup_errors(app)
    setup_cors(app, settings.cors_origins, settings.cors_max_age)  # wraps the errors: they carry CORS too
    setup_request_logging(app, "gateway", make_ids=True)  # outermost
    tokens_ready = setup_token_store(app, settings.engines)  # the only store the gateway touches
    app.cleanup_ctx.extend([access_ctx, upstreams_ctx])
    setup_routes(app)

    def session() -> aiohttp.ClientSession:
        return app[UPSTREAMS_KEY].session

    auth_ready, files_ready = alive_at(session, settings.auth_url), alive_at(session, settings.files_url)
    setup_health(app, {"tokens": tokens_ready, "auth": auth_ready, "files": files_ready})
    if settings.metrics_port is not None:  # never on the public port (ADR 9)
        setup_metrics(app, port=settings.metrics_port)
    return app


async def serve() -> web.AppRunner:
    """What gunicorn runs in each worker (`services.gateway.app:serve`): the app on the guarded runner."""
    settings = GatewaySettings.from_env()
    return guarded_runner(create_app(settings), settings.header_timeout, settings.max_connections)
