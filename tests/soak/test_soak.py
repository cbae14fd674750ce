"""Soak: eight clients race random changes on one user's shared folders while the files service and the
thumbnailer are killed (-9) at random moments and restarted. Afterwards the files check (the operator's
command) finds I1-I4 intact, and every upload that was answered 201 downloads with its SHA-256.

Deletes and moves stay within a "volatile" part of the tree; uploads into a "kept" part are never deleted,
so that their survival can be asserted exactly. SOAK_SECONDS sets the length (`make soak` runs it longer).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Api
from tests.support.engines import Backends, own_broker
from tests.support.images import image_bytes
from tests.support.stack import ROOT, Stack

SEEDS = (11, 29)
CLIENTS = 8
DURATION = float(os.environ.get("SOAK_SECONDS", "12"))
FAULT_GRACE = 2.0  # seconds after a restarted service is healthy during which 5xx still count as the fault's


@pytest.fixture
def soak_stack(backends: Backends, tmp_path: Path) -> Iterator[Stack]:
    extra = {
        "THUMBNAIL_RECONCILE_INTERVAL": "0.5",
        "THUMBNAIL_RECONCILE_AFTER": "6",
        "TREE_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    extra.update(own_broker(backends, "soak"))  # the session stack must not see these jobs
    if backends.real:  # nor these records
        extra["DB_DATABASE"] = f"fm_soak_{uuid.uuid4().hex[:8]}"
    running = Stack(backends, tmp_path, extra_env=extra)
    running.start()
    yield running
    running.stop()


@dataclass
class World:
    """What the clients know: ids they created (some since deleted) and what each kept upload must hold."""

    rng: random.Random
    volatile: list[str] = field(default_factory=list)  # folders and files that may be moved or deleted
    volatile_folders: list[str] = field(default_factory=list)
    kept_folders: list[str] = field(default_factory=list)
    kept_files: dict[str, str] = field(default_factory=dict)  # id -> sha256 of what was sent
    faulting_until: float = 0.0
    server_errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def pick(self, items: list[str]) -> str | int:
        return self.rng.choice(items) if items and self.rng.random() < 0.9 else 0


async def request(api: Api, world: World, token: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    try:
        status, body, _ = await api.call(method, path, token=token, **kwargs)
    except (TimeoutError, aiohttp.ClientError) as exc:
        status, body = 599, repr(exc)
    key = f"{method} {path.split('/')[1]} {status}"
    world.counts[key] = world.counts.get(key, 0) + 1
    if status >= 500 and time.monotonic() > world.faulting_until:
        world.server_errors.append(f"{method} {path} -> {status} {body!r}")
    return status, body


async def upload(api: Api, world: World, token: str, parent: str | int, kind: str) -> tuple[int, Any, str]:
    data = (
        image_bytes(world.rng.randint(8, 40), world.rng.randint(8, 40))
        if kind == "image"
        else os.urandom(world.rng.randint(1, 5000))
    )
    digest = hashlib.sha256(data).hexdigest()
    name = f"{kind}-{world.rng.randint(0, 10**6)}"
    if world.rng.random() < 0.5:
        payload = {"name": name, "type": kind, "parentId": parent, "data": base64.b64encode(data).decode()}
        status, body = await request(api, world, token, "POST", "/files", json=payload)
    else:
        form = aiohttp.FormData()
        for key, value in (("name", name), ("type", kind), ("parentId", str(parent))):
            form.add_field(key, value)
        form.add_field("data", data, filename=name)
        status, body = await request(api, world, token, "POST", "/files", data=form)
    return status, body, digest


async def client(api: Api, world: World, token: str, deadline: float) -> None:
    rng = world.rng
    while time.monotonic() < deadline:
        op = rng.random()
        if op < 0.12:  # a folder in the volatile part
            status, body = await request(
                api, world, token, "POST", "/files",
                json={"name": "v", "type": "folder", "parentId": world.pick(world.volatile_folders)},
            )  # fmt: skip
            if status == 201:
                world.volatile.append(body["id"])
                world.volatile_folders.append(body["id"])
        elif op < 0.30:  # a file or an image in the volatile part
            status, body, _ = await upload(
                api, world, token, world.pick(world.volatile_folders), rng.choice(("file", "image"))
            )
            if status == 201:
                world.volatile.append(body["id"])
        elif op < 0.45:  # an upload into the kept part: must survive everything
            status, body, digest = await upload(
                api, world, token, rng.choice(world.kept_folders), rng.choice(("file", "image"))
            )
            if status == 201:
                world.kept_files[body["id"]] = digest
        elif op < 0.62 and world.volatile:  # a move, cycles attempted
            target = world.pick(world.volatile_folders)
            await request(api, world, token, "PATCH", f"/files/{rng.choice(world.volatile)}", json={"parentId": target})
        elif op < 0.67 and world.kept_files:  # a kept file moves between kept folders
            kept = rng.choice(list(world.kept_files))
            await request(
                api, world, token, "PATCH", f"/files/{kept}", json={"parentId": rng.choice(world.kept_folders)}
            )
        elif op < 0.72 and world.volatile:
            await request(api, world, token, "PATCH", f"/files/{rng.choice(world.volatile)}", json={"name": "renamed"})
        elif op < 0.85 and world.volatile:  # a delete, folders with whatever is in them
            await request(api, world, token, "DELETE", f"/files/{rng.choice(world.volatile)}")
        elif world.volatile or world.kept_files:
            target = rng.choice(world.volatile or list(world.kept_files))
            await request(api, world, token, "PUT", f"/files/{target}/{rng.choice(('publish', 'unpublish'))}")


async def faults(stack: Stack, world: World, deadline: float) -> list[str]:
    """kill -9 of the files service or the thumbnailer at random moments, then a restart."""
    done = []
    while time.monotonic() < deadline - 2:
        await asyncio.sleep(world.rng.uniform(1.0, 3.0))
        name = world.rng.choice(("files", "files", "thumbnailer"))
        world.faulting_until = float("inf")
        stack.stop_service(name, signal.SIGKILL)
        await asyncio.sleep(world.rng.uniform(0.0, 0.5))
        await asyncio.to_thread(stack.start_service, name)
        world.faulting_until = time.monotonic() + FAULT_GRACE
        done.append(name)
    return done


def fsck(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.files.fsck", "--quiet", *args],
        cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def settled(api: Api, stack: Stack, token: str, world: World) -> None:
    """Wait (with a deadline) until no delete is unfinished and no kept image is still pending."""
    deadline = time.monotonic() + 90
    while True:
        report = fsck(stack)
        pending_images = []
        for file_id in world.kept_files:
            _, body, _ = await api.call("GET", f"/files/{file_id}", token=token)
            if isinstance(body, dict) and body.get("thumbnail") == "pending":
                pending_images.append(file_id)
        if "pending-delete" not in report.stdout and not pending_images:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"never settled: {pending_images[:5]}\n{report.stdout[-2000:]}")
        await asyncio.sleep(1.0)


@pytest.mark.parametrize("seed", SEEDS)
async def test_soak_with_kills_keeps_every_invariant_and_every_acknowledged_byte(
    soak_stack: Stack, http: aiohttp.ClientSession, seed: int
) -> None:
    api = Api(http, soak_stack.url)
    _, token = await api.new_user()
    world = World(random.Random(seed))
    for _ in range(3):
        world.kept_folders.append((await api.upload(token, "kept", "folder"))["id"])
    for _ in range(4):
        created = (await api.upload(token, "volatile", "folder"))["id"]
        world.volatile.append(created)
        world.volatile_folders.append(created)

    deadline = time.monotonic() + DURATION
    *_, killed = await asyncio.gather(
        *(client(api, world, token, deadline) for _ in range(CLIENTS)), faults(soak_stack, world, deadline)
    )
    for name in ("files", "thumbnailer"):
        if name not in soak_stack.procs:
            await asyncio.to_thread(soak_stack.start_service, name)
    assert killed, "no fault was injected"
    assert world.server_errors == [], world.server_errors[:10]
    assert len(world.kept_files) > 10 and world.counts.get("DELETE files 204", 0) > 5, world.counts

    await settled(api, soak_stack, token, world)
    report = fsck(soak_stack)  # the default grace: a killed upload's bytes are not a breach yet
    assert report.returncode == 0, report.stdout
    for file_id, digest in world.kept_files.items():
        status, body, _ = await api.call("GET", f"/files/{file_id}/data", token=token)
        assert status == 200 and hashlib.sha256(body).hexdigest() == digest, (file_id, status)
    # What kills left behind (bytes of uploads never acknowledged, temp files) is all the repair finds.
    repaired = fsck(soak_stack, "--repair", "--grace", "0", "--verify")
    assert repaired.returncode == 0, repaired.stdout
    assert "into lost+found" not in repaired.stdout and "finished interrupted deletes" not in repaired.stdout, (
        repaired.stdout
    )
    again = fsck(soak_stack, "--grace", "0", "--verify")
    assert again.returncode == 0 and "other findings: 0" in again.stdout, again.stdout
