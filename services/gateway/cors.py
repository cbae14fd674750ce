"""CORS for browser apps on other origins: off unless CORS_ALLOWED_ORIGINS names them.

aiohttp-middlewares' `cors_middleware` answers a preflight (`OPTIONS` with `Access-Control-Request-Method`)
itself, before any route handler, so before the token is looked at; every other answer, errors included,
gets the headers when its Origin is allowed. Our API authenticates with the X-Token header, never cookies:
credentials are not allowed, and `*` stays `*`.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_middlewares.cors import cors_middleware
from yarl import URL

from shared.settings import ConfigurationError

ALLOW_HEADERS = ("content-type", "x-token", "authorization", "x-request-id", "range", "if-none-match", "if-range")
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
EXPOSE_HEADERS = (
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Retry-After",
    "X-Request-Id",
)


def parse_origins(raw: str) -> tuple[str, ...]:
    """`*`, or origins like `https://app.example.com` (scheme, host, optional port; nothing after)."""
    origins = tuple(part.strip() for part in raw.split(",") if part.strip())
    if origins == ("*",):
        return origins
    for origin in origins:
        url = URL(origin)
        if url.scheme not in ("http", "https") or not url.host or str(url.origin()) != origin:
            raise ConfigurationError(f"CORS_ALLOWED_ORIGINS: {origin!r} is not an origin like https://app.example.com")
    return origins


def setup_cors(app: web.Application, origins: tuple[str, ...], max_age: int) -> None:
    """Outside the error middleware (so errors carry the headers too): call before the request log is set up."""
    if not origins:
        return
    allow_all = origins == ("*",)
    app.middlewares.insert(
        0,
        cors_middleware(
            allow_all=allow_all,
            origins=None if allow_all else list(origins),
            allow_headers=ALLOW_HEADERS,
            allow_methods=ALLOW_METHODS,
            expose_headers=EXPOSE_HEADERS,
            max_age=max_age,
        ),
    )
    if not allow_all:

        async def vary_on_origin(request: web.Request, response: web.StreamResponse) -> None:
            # The answer differs by Origin (allowed or not): a shared cache must keep them apart.
            vary = response.headers.get("Vary")
            if vary is None:
                response.headers["Vary"] = "Origin"
            elif "origin" not in vary.lower():
                response.headers["Vary"] = f"{vary}, Origin"

        app.on_response_prepare.append(vary_on_origin)
