"""With GATEWAY_SENDFILE=false (gateway without the shared volume) downloads stream through the proxy alike."""

import hashlib
from collections.abc import Iterator

import aiohttp
import pytest

from tests.conftest import Api
from tests.support.engines import Backends
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def streamed_stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(backends, tmp_path_factory.mktemp("streamed"), extra_env={"GATEWAY_SENDFILE": "false"})
    running.start()
    yield running
    running.stop()


async def test_streamed_downloads_keep_every_header_and_rule(
    streamed_stack: Stack, http: aiohttp.ClientSession
) -> None:
    api = Api(http, streamed_stack.url)
    _, token = await api.new_user()
    content = bytes(range(256)) * 400  # above INLINE_BYTES: the files service streams it from the volume
    view = await api.upload(token, "s.html", "file", content)
    path = f"/files/{view['id']}/data"
    etag = f'"{hashlib.sha256(content).hexdigest()}"'
    status, body, response = await api.call("GET", path, token=token)
    assert (status, body) == (200, content) and response.headers["ETag"] == etag
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert (
        response.headers["X-Content-Type-Options"] == "nosniff"
        and "sandbox" in response.headers["Content-Security-Policy"]
    )
    assert "X-FM-Sendfile" not in response.headers
    status, body, response = await api.call("GET", path, token=token, headers={"Range": "bytes=100-199"})
    assert (status, body) == (206, content[100:200])
    status, _, _ = await api.call("GET", path, token=token, headers={"Range": f"bytes={len(content)}-"})
    assert status == 416
    status, body, _ = await api.call("GET", path, token=token, headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    status, body, response = await api.call("HEAD", path, token=token)
    assert (status, body) == (200, b"") and response.headers["Content-Length"] == str(len(content))
    status, body, _ = await api.call("GET", path)
    assert (status, body) == (404, {"error": "Not found"})
