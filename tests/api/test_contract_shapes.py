"""The contract's walk (sign up, log in, folder, file, image, show, list, publish, download, log out) in both
view modes: the default richer view (the contract's six fields first, additions after, none of them null),
and STRICT_CONTRACT=true, where every file view is exactly the contract's six fields in its order."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import extra_stack
from tests.support.engines import Backends
from tests.support.images import image_bytes
from tests.support.stack import Stack

CONTRACT = ["id", "userId", "name", "type", "isPublic", "parentId"]
ADDITIONS = {"size", "sha256", "mimeType", "thumbnail", "createdAt", "updatedAt"}


@pytest.fixture(scope="module")
def strict_stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from extra_stack(backends, tmp_path_factory, "strict", {"STRICT_CONTRACT": "true"})


async def raw_views(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    """The body with each object's keys in the order they were sent."""
    async with session.request(method, url, **kwargs) as response:
        text = await response.text()
        return response.status, json.loads(text, object_pairs_hook=lambda pairs: pairs)


def keys_of(view: list[tuple[str, Any]]) -> list[str]:
    return [key for key, _ in view]


async def walk(session: aiohttp.ClientSession, base: str) -> list[list[tuple[str, Any]]]:
    """The seed contract's calls, in order; every file view each answer holds."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    async with session.post(f"{base}/users", json={"email": email, "password": "pw"}) as response:
        assert response.status == 201
        assert list(json.loads(await response.text(), object_pairs_hook=dict)) == ["id", "email"]
    basic = base64.b64encode(f"{email}:pw".encode()).decode()
    async with session.get(f"{base}/connect", headers={"Authorization": f"Basic {basic}"}) as response:
        token = (await response.json())["token"]
    auth = {"X-Token": token}
    views = []
    status, folder = await raw_views(
        session, "POST", f"{base}/files", headers=auth, json={"name": "d", "type": "folder"}
    )
    assert status == 201
    folder_id = dict(folder)["id"]
    views.append(folder)
    for body in (
        {"name": "a.txt", "type": "file", "data": base64.b64encode(b"hello").decode(), "parentId": folder_id},
        {"name": "i.png", "type": "image", "data": base64.b64encode(image_bytes(20, 10)).decode(), "isPublic": True},
    ):
        status, view = await raw_views(session, "POST", f"{base}/files", headers=auth, json=body)
        assert status == 201
        views.append(view)
    file_id = dict(views[1])["id"]
    for method, path in (
        ("GET", f"/files/{file_id}"),
        ("PUT", f"/files/{file_id}/publish"),
        ("PUT", f"/files/{file_id}/unpublish"),
    ):
        status, view = await raw_views(session, method, f"{base}{path}", headers=auth)
        assert status == 200
        views.append(view)
    for query in ("", f"?parentId={folder_id}"):
        status, page = await raw_views(session, "GET", f"{base}/files{query}", headers=auth)
        assert status == 200 and page
        views.extend(page)
    async with session.get(f"{base}/files/{file_id}/data", headers=auth) as response:
        assert (response.status, await response.read()) == (200, b"hello")
    async with session.get(f"{base}/disconnect", headers=auth) as response:
        assert response.status == 204
    return views


@pytest.mark.processes  # a second stack
async def test_strict_mode_answers_exactly_the_contract_shape(http: aiohttp.ClientSession, strict_stack: Stack) -> None:
    views = await walk(http, strict_stack.url)
    assert len(views) == 9
    for view in views:
        assert keys_of(view) == CONTRACT, view


async def test_the_default_view_is_the_contract_then_additions(http: aiohttp.ClientSession, stack: Stack) -> None:
    views = await walk(http, stack.url)
    for view in views:
        keys = keys_of(view)
        assert keys[:6] == CONTRACT and set(keys[6:]) <= ADDITIONS, keys
        assert all(value is not None for _, value in view), view
