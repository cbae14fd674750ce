"""`GET /healthz` (the process is alive) and `GET /readyz` (its dependencies answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

import aiohttp
from aiohttp import web

from shared.http import json_response

Check = Callable[[], Awaitable[bool]]
CHECKS_KEY = web.AppKey("readiness_checks", dict)


class Resource(Protocol):
    """An engine adapter held for an app's life: the metadata engine, the token store, the job queue."""

    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


R = TypeVar("R", bound=Resource)


def alive_at(session: Callable[[], aiohttp.ClientSession], url: str) -> Check:
    """A readiness check that the service at `url` answers its `/healthz`, through `session()`."""

    async def alive() -> bool:
        try:
            async with session().get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    return alive


def hold(app: web.Application, key: web.AppKey[R], open_: Callable[[web.Application], Awaitable[R]]) -> Check:
    """Open `key` with `open_` in a cleanup_ctx added now (so after those already added, whose resources
    `open_` may use), close it at shutdown; return its readiness check, which pings it."""

    async def resource_ctx(app: web.Application) -> AsyncIterator[None]:
        app[key] = await open_(app)
        yield
        await app[key].close()

    async def ready() -> bool:
        return await app[key].ping()

    app.cleanup_ctx.append(resource_ctx)
    return ready


def setup_health(app: web.Application, checks: Mapping[str, Check] | None = None) -> None:
    app[CHECKS_KEY] = dict(checks or {})

    async def healthz(request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        results = {name: await check() for name, check in request.app[CHECKS_KEY].items()}
        failed = [name for name, ok in results.items() if not ok]
        if failed:
            return json_response({"error": f"Not ready: {', '.join(failed)}", "checks": results}, status=503)
        return json_response({"status": "ok", "checks": results})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
