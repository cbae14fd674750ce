"""The gateway in process, in front of the real auth and files apps (each on its own test server, all on
the embedded store of one data folder): it resolves tokens through the token store alone, asks auth and
files for what it reports, and routes nothing internal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.internal import InternalClient
from tests.gateway.conftest import Trio, new_user


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


async def test_concurrent_stats_share_one_count_made_after_they_asked(
    trio: Trio, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_call = InternalClient.call

    async def counted(self: InternalClient, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(path)
        return await real_call(self, method, path, *args, **kwargs)

    monkeypatch.setattr(InternalClient, "call", counted)
    await new_user(trio.gateway)
    answers = await asyncio.gather(*(json_of(trio.gateway, "GET", "/stats") for _ in range(20)))
    assert answers == [(200, {"users": 1, "files": 0})] * 20
    assert len(calls) <= 20  # 40 if each asked alone: callers of one turn share one pair of counts
    await new_user(trio.gateway, "carol@example.com")
    assert await json_of(trio.gateway, "GET", "/stats") == (200, {"users": 2, "files": 0})


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
