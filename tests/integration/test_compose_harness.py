"""The harness runs what docker-compose.yml declares, and gunicorn shuts down gracefully."""

import asyncio
import hashlib
import time

import aiohttp
import psutil
import pytest

from shared.runner import available_cores
from tests.conftest import Api
from tests.support.compose import compose_services
from tests.support.payloads import GeneratedBody
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.engines]


def test_each_service_runs_the_compose_command(stack: Stack) -> None:
    declared = compose_services()
    cores = available_cores()
    # Workers where they pay (ADR 13): the gateway one per core, files one per two, auth one.
    expected_workers = {"gateway": cores, "files": max(1, cores // 2), "auth": 1}
    for name, proc in stack.procs.items():
        cmdline = psutil.Process(proc.pid).cmdline()
        expected = [str(part) for part in declared[name]["command"]]
        assert cmdline[-len(expected) + 1 :] == expected[1:], name
        if expected[0] == "gunicorn":
            workers = psutil.Process(proc.pid).children()
            assert len(workers) == expected_workers[name], f"{name}: {len(workers)} workers"


def test_gunicorn_settings_come_from_one_place_per_service() -> None:
    for name in ("gateway", "auth", "files"):
        command = compose_services()[name]["command"]
        assert command[:3] == ["gunicorn", "--config", f"python:services.{name}.gunicorn_conf"]
        module = __import__(f"services.{name}.gunicorn_conf", fromlist=["worker_class"])
        assert module.worker_class == "aiohttp.GunicornUVLoopWebWorker"  # ADR 8
        assert module.graceful_timeout >= 10 and module.control_socket_disable is True


async def test_sigterm_lets_an_in_flight_download_finish(stack: Stack, http: aiohttp.ClientSession) -> None:
    api = Api(http, stack.url)
    _, token = await api.new_user()
    body = GeneratedBody(200 * 2**20)
    form = aiohttp.FormData()
    form.add_field("name", "slow.bin")
    form.add_field("type", "file")
    form.add_field("data", body.chunks(), filename="slow.bin")
    status, view, _ = await api.call("POST", "/files", token=token, data=form)
    assert status == 201

    gateway = stack.procs["gateway"]
    digest, received = hashlib.sha256(), 0
    # A small read buffer keeps the client slow: about 10 s for 200 MiB.
    url = f"{stack.url}/files/{view['id']}/data"
    async with (
        aiohttp.ClientSession(read_bufsize=2**16) as slow,
        slow.get(url, headers={"X-Token": token}) as response,
    ):
        assert response.status == 200
        started = time.monotonic()
        signalled = False
        async for chunk in response.content.iter_chunked(2**16):
            digest.update(chunk)
            received += len(chunk)
            if not signalled and time.monotonic() - started > 1:
                gateway.terminate()  # SIGTERM to the gunicorn master, as `docker compose stop` does
                signalled = True
            await asyncio.sleep(0.003)
    assert signalled, "the download finished before the signal: make it slower"
    assert received == 200 * 2**20 and digest.hexdigest() == body.sha256.hexdigest()
    await asyncio.to_thread(gateway.wait, 35)
    assert gateway.returncode == 0
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"{stack.url}/status") as response:
            await response.read()
    stack.start_service("gateway")
    status, _, _ = await api.call("GET", "/status")
    assert status == 200
