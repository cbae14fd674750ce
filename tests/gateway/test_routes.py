"""The gateway in process, in front of the real auth and files apps (each on its own test server, all on
the embedded store of one data folder): it resolves tokens through the token store alone, asks auth and
files for what it reports, and routes nothing internal."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer


@dataclass
class Trio:
    gateway: TestClient[Any, Any]
    auth: TestServer
    files: TestServer


@pytest.fixture
async def trio(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Trio]:
    from services.auth.app import create_app as auth_app
    from services.files.app import create_app as files_app
    from services.gateway.app import create_app as gateway_app

    auth, files = await aiohttp_server(auth_app()), await aiohttp_server(files_app())
    monkeypatch.setenv("AUTH_URL", str(auth.make_url("")))
    monkeypatch.setenv("FILES_URL", str(files.make_url("")))
    yield Trio(await aiohttp_client(gateway_app()), auth, files)


async def new_user(gateway: TestClient[Any, Any], email: str = "bob@example.com") -> tuple[str, str]:
    async with gateway.post("/users", json={"email": email, "password": "pw"}) as response:
        assert response.status == 201
        user_id = (await response.json())["id"]
    credentials = base64.b64encode(f"{email}:pw".encode()).decode()
    async with gateway.get("/connect", headers={"Authorization": f"Basic {credentials}"}) as response:
        assert response.status == 200
        return str(user_id), str((await response.json())["token"])


async def json_of(gateway: TestClient[Any, Any], method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with gateway.request(method, path, **kwargs) as response:
        return response.status, await response.json()


async def test_status_and_stats_come_from_the_owners(trio: Trio) -> None:
    assert await json_of(trio.gateway, "GET", "/status") == (200, {"redis": True, "db": True})
    assert await json_of(trio.gateway, "GET", "/stats") == (200, {"users": 0, "files": 0})
    _, token = await new_user(trio.gateway)
    status, _ = await json_of(
        trio.gateway, "POST", "/files", json={"name": "d", "type": "folder"}, headers={"X-Token": token}
    )
    assert status == 201
    assert await json_of(trio.gateway, "GET", "/stats") == (200, {"users": 1, "files": 1})


async def test_a_token_resolves_through_the_token_store(trio: Trio) -> None:
    user_id, token = await new_user(trio.gateway)
    assert await json_of(trio.gateway, "GET", "/users/me", headers={"X-Token": token}) == (
        200,
        {"id": user_id, "email": "bob@example.com"},
    )
    # A client cannot claim an identity: its own X-FM-* headers are dropped before signing.
    forged = {"X-FM-User": user_id, "X-Token": "nope"}
    assert await json_of(trio.gateway, "GET", "/users/me", headers=forged) == (401, {"error": "Unauthorized"})
    async with trio.gateway.get("/disconnect", headers={"X-Token": token}) as response:
        assert response.status == 204
    assert await json_of(trio.gateway, "GET", "/files", headers={"X-Token": token}) == (401, {"error": "Unauthorized"})


async def test_internal_routes_are_not_public(trio: Trio) -> None:
    _, token = await new_user(trio.gateway)
    for path in ("/internal/stats", f"/internal/files/{'0' * 24}/source"):
        assert await json_of(trio.gateway, "GET", path, headers={"X-Token": token}) == (404, {"error": "Not found"})


async def test_an_owner_down_is_a_503_and_db_false(trio: Trio) -> None:
    await trio.files.close()
    assert await json_of(trio.gateway, "GET", "/stats") == (503, {"error": "Service unavailable"})
    assert await json_of(trio.gateway, "GET", "/status") == (200, {"redis": True, "db": False})


async def test_the_gateway_opens_no_metadata_store(trio: Trio) -> None:
    from shared.database import METADATA_KEY

    app: web.Application = trio.gateway.app  # type: ignore[assignment]  # the client of an Application
    assert METADATA_KEY not in app
