"""A restart loses no user, file, token or job; a job queued while the thumbnailer is down runs after it starts."""

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.api.test_thumbnails import wait_for
from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.engines import Backends
from tests.support.images import image_bytes
from tests.support.stack import Stack


@pytest.fixture
def own_stack(backends: Backends, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(backends, tmp_path)
    running.start()
    yield running
    running.stop()


async def test_everything_survives_a_full_restart(own_stack: Stack, backends: Backends) -> None:
    direct = DirectStore(backends, own_stack.data_dir)
    async with aiohttp.ClientSession() as session:
        api = Api(session, own_stack.url)
        user_id, token = await api.new_user()
        doc = await api.upload(token, "keep.txt", "file", b"kept bytes")
        own_stack.stop_service("thumbnailer")
        image = await api.upload(token, "late.png", "image", image_bytes(300, 150))
        local = Path(direct.files(id=image["id"])[0]["localPath"])

        own_stack.stop()
        assert not Path(f"{local}_100").exists()
        own_stack.start()

        status, body, _ = await api.call("GET", "/users/me", token=token)
        assert status == 200 and body["id"] == user_id
        status, body, _ = await api.call("GET", f"/files/{doc['id']}/data", token=token)
        assert (status, body) == (200, b"kept bytes")
        _, listing, _ = await api.call("GET", "/files", token=token)
        assert {v["id"] for v in listing} == {doc["id"], image["id"]}
        await wait_for(Path(f"{local}_100"))
    direct.close()
