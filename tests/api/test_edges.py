"""The public port's edges, on a stack of their own with short limits: a request head that trickles is cut
off while others are served as usual; connections past the cap get a 503; a stopped upstream is a 504 within
its route's timeout; `100 Continue` only once the token and the announced size pass."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
from collections.abc import Iterator

import aiohttp
import psutil
import pytest

from tests.conftest import Api, extra_stack
from tests.support.engines import Backends
from tests.support.stack import Stack, free_port

pytestmark = pytest.mark.processes  # a second stack with settings of its own

HEADER_TIMEOUT = 2
MAX_CONNECTIONS = 120  # per gateway worker; the stack runs two
METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def edge_stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {
        "HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "UPSTREAM_AUTH_TIMEOUT": "1",
        "UPSTREAM_FILES_TIMEOUT": "1",
        "MAX_UPLOAD_MB": "1",
        "METRICS_PORT": str(METRICS_PORT),
    }
    yield from extra_stack(backends, tmp_path_factory, "edges", env)


@pytest.fixture
def edge_api(http: aiohttp.ClientSession, edge_stack: Stack) -> Api:
    return Api(http, edge_stack.url)


async def open_raw(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", stack.ports["gateway"])


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
        return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_trickled_heads_are_cut_off_and_others_keep_their_latency(edge_api: Api, edge_stack: Stack) -> None:
    slow = [await open_raw(edge_stack) for _ in range(100)]
    stop = asyncio.Event()

    async def trickle(writer: asyncio.StreamWriter) -> None:
        writer.write(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            try:
                writer.write(b"X-Slow: y\r\n")
                await writer.drain()
            except ConnectionError:
                return
            await asyncio.sleep(0.5)

    trickling = [asyncio.create_task(trickle(writer)) for _, writer in slow]
    try:
        latencies = []
        for _ in range(30):  # while the slow heads are held
            started = time.perf_counter()
            status, _, _ = await edge_api.call("GET", "/status")
            latencies.append(time.perf_counter() - started)
            assert status == 200
        assert statistics.median(latencies) < 0.1 and max(latencies) < 1.0, latencies
        cut = await asyncio.gather(*(closed_by_server(reader, HEADER_TIMEOUT + 8) for reader, _ in slow))
        assert all(cut), f"{cut.count(False)} of {len(cut)} slow connections still open"
    finally:
        stop.set()
        await asyncio.gather(*trickling, return_exceptions=True)
        for _, writer in slow:
            writer.close()


async def test_a_complete_head_on_a_slow_line_is_served(edge_stack: Stack) -> None:
    """The deadline is for the head only: a client that sends its head in pieces, in time, is answered."""
    reader, writer = await open_raw(edge_stack)
    for piece in (b"GET /status HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(HEADER_TIMEOUT / 4)
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_connections_past_the_cap_get_a_503_and_the_gateway_recovers(edge_api: Api, edge_stack: Stack) -> None:
    held = [await open_raw(edge_stack) for _ in range(2 * MAX_CONNECTIONS + 60)]
    refused = 0
    try:
        for reader, _ in held:
            try:
                answer = await asyncio.wait_for(reader.read(4096), timeout=0.05)
            except TimeoutError:
                continue  # held open, waiting for a request
            if answer.startswith(b"HTTP/1.1 503 "):
                assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": "Service unavailable"}
                refused += 1
        assert refused >= 60
    finally:
        for _, writer in held:
            writer.close()

    async def served() -> bool:
        status, _, _ = await edge_api.call("GET", "/status")
        return status == 200

    deadline = time.monotonic() + 10
    while not await served():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


def suspend(stack: Stack, name: str) -> list[psutil.Process]:
    """SIGSTOP the service and its workers (a hung process: connections are accepted, nothing answers)."""
    root = psutil.Process(stack.procs[name].pid)
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        process.suspend()
    return processes


async def test_a_stopped_auth_service_is_a_504_within_its_timeout(edge_api: Api, edge_stack: Stack) -> None:
    _, email = await edge_api.sign_up()
    basic = {"Authorization": "Basic " + base64.b64encode(f"{email}:toto1234!".encode()).decode()}
    stopped = suspend(edge_stack, "auth")
    try:
        started = time.perf_counter()
        status, body, _ = await edge_api.call("GET", "/connect", headers=basic)
        assert (status, body) == (504, {"error": "Gateway timeout"})
        assert time.perf_counter() - started < 5
    finally:
        for process in stopped:
            process.resume()
    token = await edge_api.log_in(email)
    status, _, _ = await edge_api.call("GET", "/users/me", token=token)
    assert status == 200


async def raw_post(stack: Stack, head: bytes) -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await open_raw(stack)
    writer.write(head)
    await writer.drain()
    first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    return first, reader, writer


def post_head(length: int, token: str | None, expect: str = "100-continue", kind: str = "application/json") -> bytes:
    lines = [
        "POST /files HTTP/1.1",
        "Host: x",
        f"Content-Type: {kind}",
        f"Content-Length: {length}",
        f"Expect: {expect}",
    ]
    if token is not None:
        lines.append(f"X-Token: {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_no_100_continue_before_the_token_is_checked(edge_stack: Stack) -> None:
    first, _, writer = await raw_post(edge_stack, post_head(5 * 10**9, None))
    writer.close()
    assert first.startswith(b"HTTP/1.1 401 "), first


async def test_no_100_continue_for_a_body_over_the_upload_cap(edge_api: Api, edge_stack: Stack) -> None:
    _, token = await edge_api.new_user()
    for kind, length in (("application/json", 5 * 10**9), ("multipart/form-data; boundary=b", 3 * 2**20)):
        first, _, writer = await raw_post(edge_stack, post_head(length, token, kind=kind))
        writer.close()
        assert first.startswith(b"HTTP/1.1 413 "), (kind, first)


async def test_100_continue_once_the_checks_pass_then_the_upload_is_made(edge_api: Api, edge_stack: Stack) -> None:
    _, token = await edge_api.new_user()
    body = json.dumps({"name": "expected.txt", "type": "file", "data": base64.b64encode(b"hi").decode()}).encode()
    first, reader, writer = await raw_post(edge_stack, post_head(len(body), token))
    assert first == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 201 "), answer


async def test_an_unknown_expectation_is_417(edge_api: Api, edge_stack: Stack) -> None:
    _, token = await edge_api.new_user()
    first, _, writer = await raw_post(edge_stack, post_head(10, token, expect="teapot"))
    writer.close()
    assert first.startswith(b"HTTP/1.1 417 "), first


async def test_the_gateway_shows_metrics_on_its_metrics_port_only(edge_api: Api, http: aiohttp.ClientSession) -> None:
    for _ in range(20):
        status, _, _ = await edge_api.call("GET", "/status")
        assert status == 200
    status, body, _ = await edge_api.call("GET", "/metrics")
    assert (status, body) == (404, {"error": "Not found"})
    async with http.get(f"http://127.0.0.1:{METRICS_PORT}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    served = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{") and 'route="/status"' in line and 'status="200"' in line
    ]
    assert sum(served) >= 20  # both workers' counts, added up
    async with http.get(f"http://127.0.0.1:{METRICS_PORT}/status") as response:
        assert response.status == 404  # the metrics port answers nothing else
