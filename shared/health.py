"""`GET /healthz` (the process is alive) and `GET /readyz` (its dependencies answer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

Check = Callable[[], Awaitable[bool]]
CHECKS_KEY = web.AppKey("readiness_checks", dict)


def setup_health(app: web.Application, checks: Mapping[str, Check] | None = None) -> None:
    app[CHECKS_KEY] = dict(checks or {})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        results = {name: await check() for name, check in request.app[CHECKS_KEY].items()}
        failed = [name for name, ok in results.items() if not ok]
        if failed:
            return web.json_response({"error": f"Not ready: {', '.join(failed)}", "checks": results}, status=503)
        return web.json_response({"status": "ok", "checks": results})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
