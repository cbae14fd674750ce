"""docker-compose.yml's promises, kept by Docker itself: a crashed service comes back on its own, a restart
or a `down` and `up` loses nothing acknowledged, and the thumbnailer scales out with every thumbnail made
once. Runs after tests/api on the same stack (`make compose-test`)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import time

import aio_pika
import pytest

from tests.conftest import Api
from tests.support.docker import DockerStack
from tests.support.engines import Backends
from tests.support.images import image_bytes
from tests.support.inprocess import eventually

pytestmark = pytest.mark.docker

SIZES = (500, 250, 100)


@pytest.fixture(scope="module", autouse=True)
def production_settings(stack: DockerStack) -> None:
    """The settings users run with: tests/api hurries the re-publishing of pending thumbnail jobs (after 6 s),
    which would make a lost job look kept and a slow one be made twice. Changed settings recreate the
    service containers."""
    for quick in ("THUMBNAIL_RECONCILE_INTERVAL", "THUMBNAIL_RECONCILE_AFTER"):
        stack.settings.pop(quick, None)
    stack.write_env()
    stack.compose("up", "-d", timeout=600)
    stack.wait_all_healthy()


async def queued(backends: Backends, queue: str) -> int:
    """Messages ready in the stack's RabbitMQ queue, read through its published port."""
    connection = await aio_pika.connect(str(backends.amqp_url))
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def upload_some(api: Api, token: str, count: int = 3) -> dict[str, str]:
    """Files of random bytes: id → SHA-256 of what was sent."""
    sent = {}
    for index in range(count):
        content = os.urandom(50_000 + index)
        view = await api.upload(token, f"kept-{index}.bin", "file", content)
        sent[view["id"]] = hashlib.sha256(content).hexdigest()
    return sent


async def assert_downloads(api: Api, token: str, sent: dict[str, str]) -> None:
    for file_id, digest in sent.items():
        status, body, _ = await api.call("GET", f"/files/{file_id}/data", token=token)
        assert status == 200, (file_id, body)
        assert hashlib.sha256(body).hexdigest() == digest, file_id


async def thumbnails_served(api: Api, token: str, file_ids: list[str]) -> bool:
    for file_id in file_ids:
        for size in SIZES:
            status, _, _ = await api.call("GET", f"/files/{file_id}/data?size={size}", token=token)
            if status != 200:
                return False
    return True


def restart_count(stack: DockerStack, name: str) -> int:
    return int(stack.container(name)["RestartCount"])


async def test_a_killed_files_process_is_restarted_by_docker_and_loses_nothing(api: Api, stack: DockerStack) -> None:
    _, token = await api.new_user()
    sent = await upload_some(api, token)
    restarts = restart_count(stack, "files")
    killed = stack.signal("files", signal.SIGKILL)  # a crash: `docker kill` would count as a manual stop

    def restarted() -> bool:
        container = stack.container("files")
        return int(container["RestartCount"]) == restarts + 1 and container["State"]["Pid"] not in (0, killed)

    deadline = time.monotonic() + 60
    while not restarted():
        assert time.monotonic() < deadline, "the restart policy did not bring files back"
        await asyncio.sleep(0.2)
    stack.wait_healthy("files")
    await assert_downloads(api, token, sent)
    more = await upload_some(api, token, 1)
    await assert_downloads(api, token, more)


async def test_compose_restart_keeps_every_file_and_token(api: Api, stack: DockerStack) -> None:
    _, token = await api.new_user()
    sent = await upload_some(api, token)
    stack.compose("restart", timeout=300)
    stack.wait_all_healthy()
    await assert_downloads(api, token, sent)


async def test_down_then_up_keeps_files_tokens_and_queued_jobs(
    api: Api, stack: DockerStack, backends: Backends
) -> None:
    """New containers on the same volumes: the bytes, the records, the token (Redis' append-only file) and
    a thumbnail job queued while no thumbnailer ran (RabbitMQ's data, kept under its fixed node name)."""
    _, token = await api.new_user()
    sent = await upload_some(api, token)
    stack.compose("stop", "thumbnailer")
    image = await api.upload(token, "queued.png", "image", image_bytes(320, 200))
    assert await eventually(lambda: queued(backends, "fileQueue"), timeout=30) == 1
    stack.compose("down", timeout=300)
    assert stack.compose("ps", "-q").split() == []
    stack.compose("up", "-d", "--scale", "thumbnailer=0", timeout=600)
    stack.wait_all_healthy(without=("thumbnailer",))
    await assert_downloads(api, token, sent)
    assert await queued(backends, "fileQueue") == 1  # the job itself, not a re-publication
    stack.compose("up", "-d", "--scale", "thumbnailer=1", timeout=600)
    stack.wait_healthy("thumbnailer")

    async def made() -> bool:
        return await thumbnails_served(api, token, [image["id"]])

    assert await eventually(made, timeout=60, interval=0.5)


async def test_two_thumbnailers_make_every_thumbnail_once(api: Api, stack: DockerStack) -> None:
    stack.compose("up", "-d", "--scale", "thumbnailer=2", timeout=600)
    stack.wait_all_healthy()
    workers = stack.containers("thumbnailer")
    assert len(workers) == 2

    _, token = await api.new_user()
    images = [await api.upload(token, f"scaled-{i}.png", "image", image_bytes(400 + i, 300)) for i in range(12)]
    ids = [image["id"] for image in images]

    async def all_made() -> bool:
        return await thumbnails_served(api, token, ids)

    assert await eventually(all_made, timeout=90, interval=0.5)
    made: dict[str, set[str]] = {file_id: set() for file_id in ids}
    counts = dict.fromkeys(ids, 0)
    for worker in workers:
        log = stack.container_log(worker["Id"])
        for file_id in re.findall(r"thumbnails ready for ([0-9a-f]{24})", log):
            if file_id in counts:
                counts[file_id] += 1
                made[file_id].add(worker["Id"])
    assert counts == dict.fromkeys(ids, 1)  # each image's thumbnails made once
    assert len({worker for owners in made.values() for worker in owners}) == 2  # and both took jobs
