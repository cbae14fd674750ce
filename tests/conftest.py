"""Fixtures shared by every test: the adapter set, the running stack, direct store access, API helpers."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from tests.support.direct import DirectStore
from tests.support.engines import Backends, own_broker, selected_backends
from tests.support.inprocess import Signed, embedded_environment
from tests.support.stack import Stack


def pytest_report_header(config: pytest.Config) -> str:
    import os

    bytes_in = "S3 (a bucket per stack)" if os.environ.get("FM_BLOBS") == "s3" else "the volume"
    return f"adapter set: {os.environ.get('FM_BACKENDS', 'embedded')}; bytes on {bytes_in}"


def stack_class() -> type[Stack]:
    """FM_STACK=compose: the services as docker-compose.yml runs them (gunicorn), on this machine;
    FM_STACK=docker: docker-compose.yml run by Docker (`make compose-test`); FM_STACK=replicas: two files
    services and two thumbnailers behind a balancer, bytes in S3; otherwise as `make run` does."""
    import os

    if os.environ.get("FM_STACK") == "compose":
        from tests.support.compose import ComposeStack

        return ComposeStack
    if os.environ.get("FM_STACK") == "docker":
        from tests.support.docker import DockerStack

        return DockerStack
    if os.environ.get("FM_STACK") == "replicas":
        from tests.support.replicas import ReplicatedStack

        return ReplicatedStack
    return Stack


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outage tests stop real engines: engines run only. Integration tests: compose harness only. Docker
    tests: containers only, where what needs the services as processes of this machine is left out.
    What does not belong to this run is reported as deselected."""
    import os

    docker = os.environ.get("FM_STACK") == "docker"
    compose_s3 = docker and os.environ.get("FM_COMPOSE_S3") == "1"
    engines = docker or os.environ.get("FM_BACKENDS", "embedded") == "engines"
    compose = os.environ.get("FM_STACK") == "compose"

    def belongs(item: pytest.Item) -> bool:
        if docker and "processes" in item.keywords:
            return False
        return (
            (engines or "engines" not in item.keywords)
            and (compose or "integration" not in item.keywords)
            and (docker or "docker" not in item.keywords)
            and (compose_s3 or "compose_s3" not in item.keywords)
        )

    deselected = [item for item in items if not belongs(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if belongs(item)]


def extra_stack(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str]
) -> Iterator[Stack]:
    """A second stack beside the session's, with settings of its own, for one module's fixture; on the
    engine set with a broker virtual host of its own, so that neither stack's consumers take the other's jobs."""
    running = stack_class()(backends, tmp_path_factory.mktemp(name), extra_env={**own_broker(backends, name), **env})
    running.start()
    try:
        yield running
    finally:
        running.stop()
        running.discard()


@pytest.fixture(scope="session")
def backends() -> Backends:
    import os

    if os.environ.get("FM_STACK") == "docker":  # the engines in the stack's containers, not this machine's
        from tests.support.docker import docker_backends

        return docker_backends()
    return selected_backends()


@pytest.fixture(scope="session")
def stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import os

    workdir = tmp_path_factory.mktemp("stack")
    running = stack_class()(backends, workdir)
    if backends.real and os.environ.get("FM_STACK") != "docker":  # containers start with empty volumes
        _reset_engines(backends)
    running.start()
    yield running
    running.stop()
    running.discard()


def _reset_engines(backends: Backends) -> None:
    """Queues and tokens left by an earlier run would leak into this one's counts."""
    import asyncio

    import aio_pika
    import redis

    from shared.jobs import RetryPolicy

    client = redis.Redis.from_url(str(backends.redis_url))
    for key in client.scan_iter("auth_*"):
        client.delete(key)
    client.close()

    async def purge() -> None:
        connection = await aio_pika.connect(str(backends.amqp_url))
        async with connection:
            channel = await connection.channel()
            for queue in ("fileQueue", "userQueue"):
                for name in (*RetryPolicy().queue_names(queue), f"{queue}.retry"):  # .retry: an older version's
                    try:
                        await channel.queue_delete(name)
                    except Exception:  # noqa: BLE001, S112 - absent queues are fine
                        channel = await connection.channel()

    asyncio.run(purge())


@pytest.fixture(scope="session")
def store(stack: Stack, backends: Backends) -> Iterator[DirectStore]:
    direct = DirectStore(backends, stack.data_dir, stack.host_path, stack.service_path)
    yield direct
    direct.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Api:
    """A thin client of the public API, for arranging state; assertions use the raw responses."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["X-Token"] = token
        async with self.session.request(method, self.base + path, headers=headers, **kwargs) as response:
            raw = await response.read()
            body: Any = raw
            if response.content_type == "application/json":
                body = await response.json()
            return response.status, body, response

    async def sign_up(self, email: str | None = None, password: str = "toto1234!") -> tuple[str, str]:
        email = email or f"{uuid.uuid4().hex[:10]}@example.com"
        status, body, _ = await self.call("POST", "/users", json={"email": email, "password": password})
        assert status == 201, body
        return body["id"], email

    async def log_in(self, email: str, password: str = "toto1234!") -> str:
        creds = base64.b64encode(f"{email}:{password}".encode()).decode()
        status, body, _ = await self.call("GET", "/connect", headers={"Authorization": f"Basic {creds}"})
        assert status == 200, body
        return str(body["token"])

    async def new_user(self) -> tuple[str, str]:
        """(user id, token) of a fresh signed-up and logged-in user."""
        user_id, email = await self.sign_up()
        return user_id, await self.log_in(email)

    async def upload(
        self, token: str, name: str, type_: str = "file", data: bytes | None = b"hello", **fields: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"name": name, "type": type_, **fields}
        if data is not None and type_ != "folder":
            payload["data"] = base64.b64encode(data).decode()
        status, body, _ = await self.call("POST", "/files", token=token, json=payload)
        assert status == 201, body
        return dict(body)


@pytest.fixture
def api(http: aiohttp.ClientSession, stack: Stack) -> Api:
    return Api(http, stack.url)


def entries(stack: Stack) -> set[str]:
    """What the stack stores: the folder's files, or the bucket's objects (Stack.blobs)."""
    return stack.blobs.names()


# In-process services -------------------------------------------------------------------------------


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of `make run` in a fresh folder: the services' factories read it."""
    embedded_environment(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture
async def files_service(aiohttp_client: AiohttpClient, embedded: Path) -> Signed:
    from services.files.app import create_app

    return Signed(await aiohttp_client(create_app()))


@pytest.fixture
async def auth_service(aiohttp_client: AiohttpClient, embedded: Path) -> Signed:
    from services.auth.app import create_app

    return Signed(await aiohttp_client(create_app()))
