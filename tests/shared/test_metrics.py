"""Prometheus metrics in process: what the services count about requests, jobs and password hashing, and
the /metrics page each internal service answers without a signature."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shared.jobs import SQLITE_SCHEMA, JobRejected, RetryPolicy, SqliteJobQueue
from shared.sqlite import open_sqlite
from tests.support.inprocess import Signed, eventually

OWNER = "5f1e7cda04a394508232559d"


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Any]:
    connection = await open_sqlite(tmp_path / "jobs.sqlite3", SQLITE_SCHEMA)
    yield connection
    await connection.close()


async def test_job_outcomes_durations_and_depth(conn: Any) -> None:
    queue = SqliteJobQueue(conn, poll_interval=0.01, policy=RetryPolicy(max_attempts=2, base_delay=0.01))
    name = f"metrics-{uuid.uuid4().hex[:8]}"

    async def handler(payload: dict[str, Any]) -> None:
        if payload["kind"] == "reject":
            raise JobRejected("Missing fileId")
        if payload["kind"] == "boom":
            raise RuntimeError("disk on fire")

    for kind in ("ok", "reject", "boom"):
        await queue.publish(name, {"kind": kind})
    assert await queue.depth(name) == 3
    consumer = asyncio.create_task(queue.consume(name, handler))
    try:
        expected = {"done": 1.0, "rejected": 1.0, "failed": 2.0, "dead": 1.0}

        async def counted() -> bool:
            return {o: sample("jobs_total", {"queue": name, "outcome": o}) for o in expected} == expected

        await eventually(counted)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    assert sample("job_duration_seconds_count", {"queue": name}) == 4.0
    assert await queue.depth(name) == 0


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


async def test_the_files_service_counts_its_requests_by_route(files_service: Signed, embedded: Path) -> None:
    labels = {"service": "files", "method": "POST", "route": "/files", "status": "201"}
    before = sample("http_requests_total", labels)
    sent_before = sample("http_body_bytes_total", {"service": "files", "direction": "out"})
    await files_service.upload(OWNER, "counted", "folder")
    await files_service.upload(OWNER, "counted.txt", data=b"x" * 100)
    async with files_service.client.get("/metrics") as response:  # no signature: scrapes carry none
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    assert sample("http_requests_total", labels) == before + 2
    assert sample("http_body_bytes_total", {"service": "files", "direction": "out"}) > sent_before
    found = families(text)
    assert {"http_requests", "http_request_duration_seconds", "http_requests_in_flight"} <= set(found)
    routes = {s.labels.get("route") for s in found["http_requests"].samples}
    assert "/files" in routes and not any(r and OWNER in r for r in routes)  # templates, never paths
    assert "/metrics" not in routes  # scrapes are not counted


async def test_the_wait_for_a_hashing_slot_is_measured(auth_service: Signed, embedded: Path) -> None:
    before = sample("password_hash_wait_seconds_count", {})
    status, _, _ = await auth_service.call(
        "POST", "/users", json={"email": f"{uuid.uuid4().hex}@x.io", "password": "p"}
    )
    assert status == 201
    assert sample("password_hash_wait_seconds_count", {}) == before + 1
    async with auth_service.client.get("/metrics") as response:
        assert 'queue_depth{queue="userQueue"}' in await response.text()
