"""Services in the test's own process: each app from its real factory, on the embedded store of a fresh
data folder, served by pytest-aiohttp's test server. Internal calls are signed as the gateway signs them."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from shared.identity import ANONYMOUS, sign

SECRET = "in-process-secret-" + "0" * 32
ENGINE_VARIABLES = (
    "MONGO_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_DATABASE",
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "AMQP_URL",
)

T = TypeVar("T")


def embedded_environment(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """What `make run` gives a service: no engine configured, a data folder, a files folder, a secret."""
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(root / "data"))
    monkeypatch.setenv("FOLDER_PATH", str(root / "files"))
    monkeypatch.setenv("INTERNAL_SECRET", SECRET)


class Signed:
    """A client of one internal service that signs each call for `user` (anonymous by default)."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def call(
        self, method: str, path: str, user: str = ANONYMOUS, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, Any, ClientResponse]:
        signed = sign(SECRET.encode(), user, method, path)
        async with self.client.request(method, path, headers={**(headers or {}), **signed}, **kwargs) as response:
            body: Any = await response.read()
            if response.content_type == "application/json":
                body = await response.json()
            return response.status, body, response

    async def upload(self, user: str, name: str, type_: str = "file", data: bytes = b"hello", **fields: Any) -> Any:
        payload: dict[str, Any] = {"name": name, "type": type_, **fields}
        if type_ != "folder":
            payload["data"] = base64.b64encode(data).decode()
        status, body, _ = await self.call("POST", "/files", user, json=payload)
        assert status == 201, body
        return body


async def eventually(probe: Callable[[], Awaitable[T]], timeout: float = 10.0, interval: float = 0.05) -> T:
    """`probe()` once it returns something truthy; fails the test with its last value at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)
