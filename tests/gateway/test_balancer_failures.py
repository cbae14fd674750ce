"""A balancer in front of a service's replicas answers 502, 503 or 504 pages of its own when none can
serve: the gateway answers the contract's JSON errors instead; a JSON error of our own service passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from tests.gateway.conftest import new_user

PAGE = "<html><body><h1>{status}</h1><hr>nginx</body></html>"


@pytest.mark.parametrize(
    ("status", "content_type", "expected"),
    [
        (502, "text/html", (503, {"error": "Service unavailable"})),
        (503, "text/html", (503, {"error": "Service unavailable"})),
        (504, "text/html", (504, {"error": "Gateway timeout"})),
        (503, "application/json", (503, {"error": "Ours, passed on"})),
    ],
)
async def test_a_balancers_failure_page_becomes_the_contracts_error(
    aiohttp_client: AiohttpClient,
    aiohttp_server: AiohttpServer,
    embedded: Path,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    content_type: str,
    expected: tuple[int, dict[str, str]],
) -> None:
    from services.auth.app import create_app as auth_app
    from services.gateway.app import create_app as gateway_app

    async def balancer(request: web.Request) -> web.Response:
        if content_type == "application/json":
            return web.json_response({"error": "Ours, passed on"}, status=status)
        return web.Response(status=status, text=PAGE.format(status=status), content_type=content_type)

    front = web.Application()
    front.router.add_route("*", "/{tail:.*}", balancer)
    auth, files = await aiohttp_server(auth_app()), await aiohttp_server(front)
    monkeypatch.setenv("AUTH_URL", str(auth.make_url("")))
    monkeypatch.setenv("FILES_URL", str(files.make_url("")))
    gateway = await aiohttp_client(gateway_app())
    _, token = await new_user(gateway)
    async with gateway.get("/files", headers={"X-Token": token}) as response:
        assert (response.status, await response.json()) == expected
