"""The API description is kept true: schemathesis reads /openapi.json from a running stack, sends what it
describes (valid and invalid), and every answer must be documented, of the documented type and shape, and
never a server error. The docs page's assets come from the package, not a CDN."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.openapi import SPEC
from tests.conftest import extra_stack
from tests.support.engines import Backends
from tests.support.stack import Stack

pytestmark = pytest.mark.processes  # a second stack with settings of its own

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Thousands of generated logins from one address would trip the per-address limit (and, on the shared
    # token store of the engine set, lock the rest of the suite out): off on this stack only.
    env = {"LOGIN_MAX_FAILURES_PER_ADDRESS": "0"}
    yield from extra_stack(backends, tmp_path_factory, "fuzz", env)


@pytest.fixture(scope="module")
def account(fuzz_stack: Stack) -> dict[str, str]:
    """A user with a file and a folder, so that generated requests can also succeed."""
    email, password = f"fuzz-{uuid.uuid4().hex[:8]}@example.com", "fuzz-password"
    requests.post(f"{fuzz_stack.url}/users", json={"email": email, "password": password}, timeout=10)
    basic = "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()
    token = requests.get(f"{fuzz_stack.url}/connect", headers={"Authorization": basic}, timeout=10).json()["token"]
    for body in (
        {"name": "seed.txt", "type": "file", "data": base64.b64encode(b"seed").decode()},
        {"name": "seed", "type": "folder"},
    ):
        requests.post(f"{fuzz_stack.url}/files", json=body, headers={"X-Token": token}, timeout=10)
    return {"token": token, "basic": basic}


@pytest.fixture(scope="module")
def api_schema(fuzz_stack: Stack) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_stack.url}/openapi.json")


OPERATIONS = [
    (path, method.upper())
    for path, item in SPEC["paths"].items()
    for method in item
    if method in ("get", "head", "post", "put", "patch", "delete")
]


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_answer_is_documented_and_none_is_a_server_error(
    path: str, method: str, api_schema: Any, fuzz_stack: Stack, account: dict[str, str]
) -> None:
    operation = api_schema[path][method]

    # Valid requests and invalid ones (wrong types, missing fields, out-of-range values), as generated.
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def exercise(case: Any) -> None:
        headers = dict(case.headers or {})
        if case.path == "/connect" and "Authorization" not in headers:
            headers["Authorization"] = account["basic"]
        if case.path == "/disconnect":
            headers.pop("X-Token", None)  # keep the shared token alive: log out a stranger's token instead
        else:
            headers.setdefault("X-Token", account["token"])
        case.call_and_validate(base_url=fuzz_stack.url, headers=headers, checks=CHECKS, timeout=30)

    exercise()


async def test_the_description_names_every_public_route(fuzz_stack: Stack, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{fuzz_stack.url}/openapi.json") as response:
        assert response.status == 200
        described = await response.json()
    assert described["openapi"].startswith("3.1")
    assert set(described["paths"]) == {
        "/status",
        "/stats",
        "/users",
        "/connect",
        "/disconnect",
        "/users/me",
        "/files",
        "/files/{id}",
        "/files/{id}/publish",
        "/files/{id}/unpublish",
        "/files/{id}/data",
        "/healthz",
        "/readyz",
    }
    assert set(described["components"]["securitySchemes"]) == {"token", "basic"}


async def test_the_docs_page_is_served_with_packaged_assets(fuzz_stack: Stack, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{fuzz_stack.url}/docs") as response:
        assert response.status == 200
        page = await response.text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/docs/static/") for asset in assets), assets
    for asset in assets:
        async with http.get(f"{fuzz_stack.url}{asset}") as response:
            assert response.status == 200, asset
    async with http.get(f"{fuzz_stack.url}/docs/swagger.json") as response:
        assert (await response.json())["openapi"].startswith("3.1")
