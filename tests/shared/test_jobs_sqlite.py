"""The embedded job queue: success removes the job, rejection fails it, errors retry then dead-letter."""

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from shared.jobs import SQLITE_SCHEMA, Consumer, JobRejected, RetryPolicy, SqliteJobQueue
from shared.sqlite import open_sqlite
from tests.support.inprocess import eventually
from tests.support.payloads import consume_for


async def states(conn: Any) -> list[tuple[str, int, str | None]]:
    async with conn.execute("SELECT state, attempts, last_error FROM jobs ORDER BY id") as cursor:
        return [(r[0], r[1], r[2]) for r in await cursor.fetchall()]


@pytest.fixture
async def conn(tmp_path: Path) -> Any:
    connection = await open_sqlite(tmp_path / "jobs.sqlite3", SQLITE_SCHEMA)
    yield connection
    await connection.close()


async def test_success_removes_the_job(conn: Any) -> None:
    queue = SqliteJobQueue(conn, poll_interval=0.01)
    seen: list[dict[str, Any]] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload)

    await queue.publish("q", {"n": 1})
    await queue.publish("other", {"n": 2})
    await consume_for(queue, "q", handler, 0.3)
    assert seen == [{"n": 1}]
    assert await states(conn) == [("ready", 0, None)]  # the other queue's job is untouched


async def test_rejection_fails_without_retry(conn: Any) -> None:
    queue = SqliteJobQueue(conn, poll_interval=0.01)
    calls = 0

    async def handler(payload: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise JobRejected("Missing fileId")

    await queue.publish("q", {})
    await consume_for(queue, "q", handler, 0.3)
    assert calls == 1
    assert await states(conn) == [("failed", 1, "Missing fileId")]


async def test_errors_retry_with_backoff_then_dead_letter(conn: Any) -> None:
    queue = SqliteJobQueue(conn, poll_interval=0.01, policy=RetryPolicy(max_attempts=3, base_delay=0.05))
    calls = 0

    async def handler(payload: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("transient")

    await queue.publish("q", {"x": 1})
    await consume_for(queue, "q", handler, 1.0)
    assert calls == 3
    [(state, attempts, error)] = await states(conn)
    assert (state, attempts) == ("dead", 3) and "transient" in str(error)


async def test_a_job_whose_consumer_died_is_redelivered_after_its_lease(conn: Any) -> None:
    queue = SqliteJobQueue(conn, poll_interval=0.01, lease_seconds=0.2)
    started = asyncio.Event()

    async def stuck(payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(3600)

    await queue.publish("q", {"x": 1})
    task = asyncio.create_task(queue.consume("q", stuck))
    await started.wait()
    task.cancel()  # the consumer dies mid-job
    with contextlib.suppress(asyncio.CancelledError):
        await task
    seen: list[dict[str, Any]] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload)

    await consume_for(queue, "q", handler, 0.6)
    assert seen == [{"x": 1}]
    assert await states(conn) == []


async def test_malformed_payload_is_rejected(conn: Any) -> None:
    queue = SqliteJobQueue(conn, poll_interval=0.01)
    await conn.execute("INSERT INTO jobs (queue, payload, visible_at, created_at) VALUES ('q', '[1,', 0, 0)")

    async def handler(payload: dict[str, Any]) -> None:
        raise AssertionError("never called")

    await consume_for(queue, "q", handler, 0.2)
    assert await states(conn) == [("failed", 1, "Malformed job payload")]


class LockedOnce(SqliteJobQueue):
    """The real queue, whose first outcome write meets `database is locked` (as under a busy writer)."""

    failures = 1

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        await super()._execute(sql, args)


async def test_a_locked_file_while_recording_an_outcome_does_not_kill_the_consumer(conn: Any) -> None:
    queue = LockedOnce(conn, poll_interval=0.01)
    seen: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload["n"])

    for n in range(3):
        await queue.publish("q", {"n": n})
    await consume_for(queue, "q", handler, 1.0)
    assert seen == [0, 1, 2] and await states(conn) == []


async def test_a_consumer_that_dies_is_restarted_and_not_ready_meanwhile(conn: Any) -> None:
    class Breaking(SqliteJobQueue):
        runs = 0

        async def consume(self, queue: str, handler: Any) -> None:
            Breaking.runs += 1
            if Breaking.runs == 1:
                raise RuntimeError("consumer crashed")
            await super().consume(queue, handler)

    seen: list[dict[str, Any]] = []
    handled = asyncio.Event()

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload)
        handled.set()

    queue = Breaking(conn, poll_interval=0.01)
    consumer = Consumer(queue, "q", handler, restart_delay=0.5)
    try:

        async def crashed_once() -> bool:  # down, restart pending (restart_delay)
            return not consumer.alive and consumer.restarts == 1

        await eventually(crashed_once, timeout=0.4, interval=0.01)
        await queue.publish("q", {"n": 1})
        async with asyncio.timeout(5):
            await handled.wait()
        assert consumer.alive and seen == [{"n": 1}]
    finally:
        await consumer.stop()
