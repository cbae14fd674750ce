"""The web app's files, served by the gateway in process: the page at /, its files under /app/, with a
strict Content-Security-Policy on every answer, revalidated by ETag; the API's routes keep their paths."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from services.gateway.webapp import CONTENT_SECURITY_POLICY, STATIC
from tests.gateway.conftest import Trio


async def test_the_page_and_its_files_are_served_with_a_strict_policy(trio: Trio) -> None:
    gateway: TestClient[Any, Any] = trio.gateway
    async with gateway.get("/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-cache"
    assert policy == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page == (STATIC / "index.html").read_text()
    # No inline script and nothing from another host: every script and style is a file of /app/.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\b(?:src|href)=\"(?:https?:)?//", page)
    assert " style=" not in page and "<style" not in page
    files = (("/app/app.js", "text/javascript"), ("/app/app.css", "text/css"), ("/favicon.ico", "image/svg+xml"))
    for path, kind in files:
        async with gateway.get(path) as response:
            assert response.status == 200, path
            assert response.content_type == kind
            assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["ETag"]


async def test_an_unchanged_file_is_a_304(trio: Trio) -> None:
    async with trio.gateway.get("/app/app.js") as response:
        etag = response.headers["ETag"]
        assert len(await response.read()) > 1000
    async with trio.gateway.get("/app/app.js", headers={"If-None-Match": etag}) as response:
        assert response.status == 304
        assert await response.read() == b""
    async with trio.gateway.get("/app/app.js", headers={"If-None-Match": '"other"'}) as response:
        assert response.status == 200


async def test_unknown_files_are_404_in_json(trio: Trio) -> None:
    for path in ("/app/missing.js", "/app/index.html", "/app/..%2Fwebapp.py", "/app/", "/app/static/app.js"):
        async with trio.gateway.get(path) as response:
            assert response.status == 404, path
            assert await response.json() == {"error": "Not found"}
    async with trio.gateway.post("/") as response:
        assert response.status == 405


async def test_the_api_keeps_its_paths_beside_the_page(trio: Trio) -> None:
    async with trio.gateway.get("/status") as response:
        assert await response.json() == {"redis": True, "db": True}
    async with trio.gateway.get("/files") as response:
        assert (response.status, await response.json()) == (401, {"error": "Unauthorized"})
