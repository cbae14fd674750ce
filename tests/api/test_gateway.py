"""The gateway: identity headers from clients are dropped, internal ports need a signature, outages are 503."""

import aiohttp
import pytest

from tests.conftest import Api
from tests.support.stack import Stack


@pytest.mark.parametrize("header", ["X-FM-User", "x-fm-user", "X_FM_User", "X-User-Id"])
async def test_spoofed_identity_headers_are_stripped(api: Api, header: str) -> None:
    victim_id, victim = await api.new_user()
    await api.upload(victim, "secret.txt", "file", b"s")
    status, body, _ = await api.call("GET", "/users/me", headers={header: victim_id})
    assert (status, body) == (401, {"error": "Unauthorized"})
    _, attacker = await api.new_user()
    status, body, _ = await api.call("GET", "/files", token=attacker, headers={header: victim_id})
    assert status == 200 and body == []


@pytest.mark.parametrize("service", ["auth", "files"])
async def test_internal_ports_refuse_unsigned_calls(
    http: aiohttp.ClientSession, stack: Stack, api: Api, service: str
) -> None:
    user_id, token = await api.new_user()
    path = "/users/me" if service == "auth" else "/files"
    headers = {"X-Token": token, "X-FM-User": user_id, "X-FM-Timestamp": "1", "X-FM-Signature": "00"}
    async with http.get(stack.service_url(service) + path, headers=headers) as response:
        assert response.status == 401
        assert await response.json() == {"error": "Unauthorized"}
    async with http.get(stack.service_url(service) + "/healthz") as response:
        assert response.status == 200


async def test_upstream_down_is_503_json_then_recovers(api: Api, stack: Stack) -> None:
    _, token = await api.new_user()
    stack.stop_service("files")
    try:
        status, body, _ = await api.call("GET", "/files", token=token)
        assert (status, body) == (503, {"error": "Service unavailable"})
    finally:
        stack.start_service("files")
    status, body, _ = await api.call("GET", "/files", token=token)
    assert status == 200


async def test_readyz_names_a_failing_dependency(http: aiohttp.ClientSession, stack: Stack) -> None:
    async with http.get(stack.url + "/readyz") as response:
        assert response.status == 200
    stack.stop_service("auth")
    try:
        async with http.get(stack.url + "/readyz") as response:
            assert response.status == 503
            body = await response.json()
            assert "auth" in body["error"] and body["checks"]["auth"] is False
    finally:
        stack.start_service("auth")


async def test_tokens_never_reach_the_logs(api: Api, stack: Stack) -> None:
    _, token = await api.new_user()
    await api.call("GET", "/files", token=token)
    await api.call("GET", "/users/me", token=token)
    for name in ("gateway", "auth", "files", "thumbnailer"):
        assert token not in stack.log(name)


async def test_the_web_app_is_served_beside_the_api(http: aiohttp.ClientSession, stack: Stack) -> None:
    """What the installed package ships (in the images too): the page and its files, with their policy."""
    async with http.get(stack.url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
    assert '<script type="module" src="/app/app.js">' in page and 'href="/app/app.css"' in page
    for asset in ("/app/app.js", "/app/app.css", "/app/folder.svg"):
        async with http.get(stack.url + asset) as response:
            assert response.status == 200, asset
            assert len(await response.read()) > 100
