"""What an operator reads: JSON lines (LOG_FORMAT=json), one access line per request in every service it
crossed, each line carrying the request's id (from a well-formed X-Request-Id, or made at the gateway) down
to the job it caused; malformed requests are one INFO line, never a traceback or the bytes that were sent."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import Api, extra_stack
from tests.support.engines import Backends
from tests.support.images import image_bytes
from tests.support.inprocess import eventually
from tests.support.stack import Stack

# The contract's own console lines, printed as the original prints them.
PLAIN_LINES = re.compile(r"^(Server running on port \d+|Welcome .*!)$")
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def json_stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from extra_stack(backends, tmp_path_factory, "json-logs", {"LOG_FORMAT": "json"})


@pytest.fixture
def json_api(http: aiohttp.ClientSession, json_stack: Stack) -> Api:
    return Api(http, json_stack.url)


def records(stack: Stack, service: str) -> list[dict[str, Any]]:
    """Every line of the service's log as JSON (the contract's plain console lines aside)."""
    parsed = []
    for line in stack.log(service).splitlines():
        if not line.strip() or PLAIN_LINES.match(line):
            continue
        parsed.append(json.loads(line))  # a line that is not JSON fails the test here
    return parsed


def lines_of(stack: Stack, service: str, request_id: str) -> list[dict[str, Any]]:
    return [r for r in records(stack, service) if r.get("request_id") == request_id]


@pytest.mark.processes  # a second stack
async def test_a_well_formed_request_id_is_echoed_and_in_each_services_access_line(
    json_api: Api, json_stack: Stack
) -> None:
    _, email = await json_api.sign_up()
    token = await json_api.log_in(email)
    status, _, response = await json_api.call("GET", "/users/me", token=token, headers={"X-Request-Id": "trace-42.a"})
    assert status == 200 and response.headers["X-Request-Id"] == "trace-42.a"

    async def access_lines() -> dict[str, dict[str, Any]]:
        found = {}
        for service in ("gateway", "auth"):
            for record in lines_of(json_stack, service, "trace-42.a"):
                if record["logger"] == "access":
                    found[service] = record
        return found if len(found) == 2 else {}

    found = await eventually(access_lines)
    for service, record in found.items():
        assert {k: record[k] for k in ("method", "route", "status", "service")} == {
            "method": "GET",
            "route": "/users/me",
            "status": 200,
            "service": service,
        }
        assert record["duration_ms"] >= 0 and record["bytes_out"] > 0 and record["level"] == "INFO"
        assert re.fullmatch(r"[0-9a-f]{24}", record["user_id"])


@pytest.mark.processes  # a second stack
@pytest.mark.parametrize("sent", [None, "has space", "x" * 129, 'quote"d', "new\\nline"])
async def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(
    json_api: Api, json_stack: Stack, sent: str | None
) -> None:
    headers = {"X-Request-Id": sent} if sent is not None else {}
    status, _, response = await json_api.call("GET", "/files", token="not-a-token", headers=headers)
    assert status == 401
    made = response.headers["X-Request-Id"]
    assert HEX_ID.match(made), made
    lines = await eventually(lambda: _async(lines_of(json_stack, "gateway", made)))
    assert [(r["route"], r["status"]) for r in lines if r["logger"] == "access"] == [("/files", 401)]


async def _async(value: Any) -> Any:
    return value


async def test_the_request_id_of_an_upload_reaches_the_thumbnail_job(api: Api, stack: Stack) -> None:
    """On the session's stack (text lines): a second stack on the same broker would compete for its jobs."""
    _, token = await api.new_user()
    request_id = f"upload-{uuid.uuid4().hex[:12]}"
    status, body, _ = await api.call(
        "POST",
        "/files",
        token=token,
        headers={"X-Request-Id": request_id},
        json={"name": "photo.png", "type": "image", "data": base64.b64encode(image_bytes(300, 200)).decode()},
    )
    assert status == 201, body

    async def job_lines() -> list[str]:
        tagged = f"[{request_id}]"
        worker = [line for line in stack.log("thumbnailer").splitlines() if tagged in line and body["id"] in line]
        recorded = [
            line
            for line in stack.log("files").splitlines()
            if tagged in line and "PUT /internal/files/{id}/thumbnail 200" in line
        ]
        return worker + recorded if worker and recorded else []

    await eventually(job_lines, timeout=30)


@pytest.mark.processes  # a second stack
async def test_access_lines_never_hold_a_token_password_or_query(json_api: Api, json_stack: Stack) -> None:
    password = "pw-that-must-not-leak-42"
    _, email = await json_api.sign_up(password=password)
    token = await json_api.log_in(email, password=password)
    await json_api.call("GET", "/files?parentId=0&page=0", token=token)
    await json_api.call("GET", "/disconnect", token=token)

    async def all_logged() -> bool:  # a streamed answer (the 204) reaches the client before its line is written
        routes = {r["route"] for r in records(json_stack, "gateway") if r["logger"] == "access"}
        return {"/users", "/connect", "/files", "/disconnect"} <= routes

    await eventually(all_logged)
    for service in ("gateway", "auth", "files"):
        text = json_stack.log(service)
        assert token not in text and password not in text and "parentId=" not in text, service


MALFORMED = [
    b"GET /files HTTP/1.1\r\nHost: x\r\nAuthorization: Basic c2VjcmV0\x01\r\n\r\n",  # control byte in a value
    b"GET /files HTTP/1.1\r\nHost: x\r\nX-Token secret-no-colon\r\n\r\n",  # header without a colon
    b"GET /files HTTP/9.9\r\nHost: x\r\n\r\n",  # unknown version
    b"GET /files HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /files HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST /files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk size
    b"POST /files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
    b"GET /files HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",  # a header over the limit
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # a request line over the limit
    b"GET /files HTTP/1.1\r\n X-Folded: value\r\n\r\n",  # obsolete line folding
    b"GET /files HTTP/1.1\r\nHo st: x\r\n\r\n",  # space in a header name
    b"GET /files\x00 HTTP/1.1\r\nHost: x\r\n\r\n",  # NUL in the target
    b"GET /files HTTP/1.1\nHost: x\r\n\r\n\r\nGARBAGE\r\n\r\n",  # a second, malformed request
    b"GET\t/files HTTP/1.1\r\nHost: x\r\n\r\n",
]


def send_raw(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.processes  # a second stack
async def test_malformed_requests_are_info_lines_without_traceback_or_bytes(json_stack: Stack) -> None:
    before = len(records(json_stack, "gateway"))
    for raw in MALFORMED:
        answer = await asyncio.to_thread(send_raw, json_stack.ports["gateway"], raw)
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n", 1)[0], (raw[:60], answer[:80])
    new = await eventually(lambda: _async(records(json_stack, "gateway")[before:] or None))
    text = json_stack.log("gateway")
    assert "Traceback" not in text and "c2VjcmV0" not in text and "secret-no-colon" not in text
    assert all(r["level"] in ("INFO", "DEBUG") for r in new), [r for r in new if r["level"] not in ("INFO", "DEBUG")]
    refused = [r for r in new if r["message"].startswith("malformed request refused (400 ")]
    # One line each, but for the tab after GET: to aiohttp that is not HTTP at all, logged at DEBUG.
    assert len(refused) == len(MALFORMED) - 1, [r["message"] for r in new]
