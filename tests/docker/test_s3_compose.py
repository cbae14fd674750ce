"""docker-compose.yml with docker-compose.s3.yml, run by Docker: the bytes in MinIO, and the files
service, the thumbnailer and the gateway with no volume in common and nothing kept on a disk of their own:
a files container that crashes comes back with an empty /files, and every file still downloads."""

from __future__ import annotations

import hashlib
import os
import signal

import pytest

from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.docker import DockerStack
from tests.support.images import image_bytes
from tests.support.inprocess import eventually

pytestmark = [pytest.mark.docker, pytest.mark.compose_s3]


def named_volumes(stack: DockerStack, name: str) -> list[str]:
    return [m["Name"] for c in stack.containers(name) for m in c["Mounts"] if m["Type"] == "volume"]


async def test_files_live_in_minio_and_survive_a_crash_of_a_diskless_files_service(
    api: Api, stack: DockerStack, store: DirectStore
) -> None:
    for name in ("files", "thumbnailer", "gateway"):
        assert named_volumes(stack, name) == [], name  # tmpfs only: nothing shared, nothing kept
    _, token = await api.new_user()
    content = os.urandom(200_003)
    doc = await api.upload(token, "kept.bin", "file", content)
    image = await api.upload(token, "photo.png", "image", image_bytes(400, 200))
    [record] = store.files(id=doc["id"])
    assert str(record["localPath"]).startswith("s3://files-manager/")

    async def thumbnail() -> bool:
        status, _, _ = await api.call("GET", f"/files/{image['id']}/data?size=100", token=token)
        return status == 200

    assert await eventually(thumbnail, timeout=60, interval=0.5)

    restarts = int(stack.container("files")["RestartCount"])
    stack.signal("files", signal.SIGKILL)

    async def back() -> bool:
        return int(stack.container("files")["RestartCount"]) == restarts + 1

    assert await eventually(back, timeout=60, interval=0.2)
    stack.wait_healthy("files")
    status, body, _ = await api.call("GET", f"/files/{doc['id']}/data", token=token)
    assert status == 200 and hashlib.sha256(body).hexdigest() == hashlib.sha256(content).hexdigest()
    status, body, _ = await api.call("GET", f"/files/{doc['id']}/data", token=token, headers={"Range": "bytes=3-9"})
    assert (status, body) == (206, content[3:10])
