"""The gateway in process, in front of the real auth and files apps (each on its own test server, all on
the embedded store of one data folder)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
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
