"""Job queues `fileQueue` and `userQueue`: RabbitMQ in production, a table of the SQLite file when embedded.

Delivery is at least once. A handler that raises `JobRejected` fails that job for good (the contract's
`Missing fileId`, `File not found`, an undecodable image); any other exception is retried with backoff,
and after the last attempt the job goes to the dead-letter queue `<queue>.dead`. Neither ever stops
the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import aio_pika
import aio_pika.exceptions
import aiosqlite
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from aiohttp import web

from shared.errors import ENGINE_WAIT_SECONDS, failure_rule
from shared.health import Check, hold
from shared.logs import NO_REQUEST, REQUEST_ID, well_formed
from shared.metrics import JOB_DURATION, JOBS, QUEUE_DEPTH, Refresh
from shared.settings import EngineSettings
from shared.sqlite import SQLITE_KEY, SqliteSchema, apply_schema, fetch, open_sqlite, select_engine, sqlite_alive

log = logging.getLogger(__name__)

FILE_QUEUE = "fileQueue"  # the contract's queue names
USER_QUEUE = "userQueue"

FAILURES = failure_rule(unavailable=(aio_pika.exceptions.AMQPConnectionError,))


class FileJob(TypedDict):
    """A `fileQueue` job, as the contract has it: make the thumbnails of this image."""

    userId: str
    fileId: str


class UserJob(TypedDict):
    """A `userQueue` job: welcome this new user."""

    userId: str


SQLITE_SCHEMA = SqliteSchema(
    """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'ready',
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (queue, state, visible_at);
"""
)

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]


class JobRejected(Exception):
    """The job can never succeed; it fails without retries."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1))))

    def retry_queue(self, queue: str, attempt: int) -> str:
        """One retry queue per delay: messages in one queue share one TTL, so none waits behind a longer one."""
        return self.retry_queue_for_delay(queue, self.delay(attempt))

    @staticmethod
    def retry_queue_for_delay(queue: str, delay: float) -> str:
        return f"{queue}.retry.{round(delay * 1000)}ms"

    def tiers(self) -> list[float]:
        return sorted({self.delay(attempt) for attempt in range(1, max(2, self.max_attempts))})

    def queue_names(self, queue: str) -> list[str]:
        """Every queue a job of `queue` may sit in: the queue, its retry tiers, its dead letters."""
        return [queue, *(self.retry_queue_for_delay(queue, d) for d in self.tiers()), f"{queue}.dead"]


class JobQueue(Protocol):
    # The longest a publish may be in flight before it fails: a claim to publish a job (the files
    # service's re-publication of pending thumbnails) is not stale before that.
    publish_timeout: float

    async def publish(self, queue: str, payload: Mapping[str, object]) -> None: ...
    async def consume(self, queue: str, handler: JobHandler) -> None: ...
    async def depth(self, queue: str) -> int: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


REQUEST_ID_FIELD = "requestId"  # added to a job published while serving a request; consumers ignore it


def _stamped(payload: Mapping[str, object]) -> dict[str, object]:
    request_id = REQUEST_ID.get()
    return {**payload, REQUEST_ID_FIELD: request_id} if request_id != NO_REQUEST else dict(payload)


async def _handle_with_id(queue: str, handler: JobHandler, payload: dict[str, Any]) -> None:
    """Run a job under the id of the request that caused it, so its log lines (and the internal calls it
    makes) carry that id; count its outcome and time it (a failure is retried or, at the last attempt, dead)."""
    raw = payload.get(REQUEST_ID_FIELD)
    reset = REQUEST_ID.set(well_formed(raw if isinstance(raw, str) else None) or NO_REQUEST)
    started = time.perf_counter()
    outcome = "failed"
    try:
        await handler(payload)
        outcome = "done"
    except JobRejected:
        outcome = "rejected"
        raise
    finally:
        JOBS.labels(queue, outcome).inc()
        JOB_DURATION.labels(queue).observe(time.perf_counter() - started)
        REQUEST_ID.reset(reset)


def _decode(body: bytes | str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise JobRejected("Malformed job payload") from exc
    if not isinstance(payload, dict):
        raise JobRejected("Malformed job payload")
    return payload


class RabbitJobQueue:
    """aio-pika robust connection; durable queues, persistent messages, publisher confirms, a DLQ."""

    def __init__(
        self,
        url: str,
        prefetch: int = 2,
        policy: RetryPolicy | None = None,
        publish_timeout: float = 3.0,
        queue_type: str = "classic",
    ) -> None:
        self._url = url
        # Quorum queues (replicated by Raft over a cluster's nodes) dead-letter at least once, which needs
        # publishers refused rather than messages dropped when a queue is full.
        self._kind: dict[str, Any] = (
            {"x-queue-type": "quorum", "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
            if queue_type == "quorum"
            else {}
        )
        self.publish_timeout = publish_timeout
        self._prefetch = prefetch
        self._policy = policy or RetryPolicy()
        self._connection: AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._declared: set[str] = set()
        self._lock = asyncio.Lock()

    async def _ensure_channel(self) -> aio_pika.abc.AbstractRobustChannel:
        async with self._lock:
            if self._channel is None or self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect_robust(
                    self._url, timeout=5, client_properties={"connection_name": "files-manager"}
                )
                # on_return_raises: a mandatory message that no queue takes fails its publish, not silently.
                self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
                await self._channel.set_qos(prefetch_count=self._prefetch)
                self._declared.clear()
            assert self._channel is not None
            return self._channel

    async def _declare(self, channel: aio_pika.abc.AbstractChannel, queue: str) -> aio_pika.abc.AbstractQueue:
        main = await channel.declare_queue(
            queue,
            durable=True,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{queue}.dead", **self._kind},
        )
        if queue not in self._declared:
            dead_kind: dict[str, Any] = {"x-queue-type": "quorum"} if self._kind else {}  # dead-letters nowhere
            await channel.declare_queue(f"{queue}.dead", durable=True, arguments=dead_kind)
            for delay in self._policy.tiers():
                # Expired messages go back to the main queue; the TTL is the queue's, the same for all.
                await channel.declare_queue(
                    self._policy.retry_queue_for_delay(queue, delay),
                    durable=True,
                    arguments={
                        "x-message-ttl": round(delay * 1000),
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": queue,
                        **self._kind,
                    },
                )
            self._declared.add(queue)
        return main

    async def publish(self, queue: str, payload: Mapping[str, object]) -> None:
        """Confirmed by the broker, or an exception within `publish_timeout` (a robust channel would wait)."""
        async with asyncio.timeout(self.publish_timeout):
            channel = await self._ensure_channel()
            await self._declare(channel, queue)
            await self._send(channel, queue, json.dumps(_stamped(payload)).encode(), {"x-attempts": 0})

    async def _send(
        self,
        channel: aio_pika.abc.AbstractChannel,
        routing_key: str,
        body: bytes,
        headers: dict[str, Any],
    ) -> None:
        message = aio_pika.Message(
            body=body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=uuid.uuid4().hex,
            headers=headers,
        )
        await channel.default_exchange.publish(message, routing_key=routing_key, mandatory=True, timeout=10)

    async def consume(self, queue: str, handler: JobHandler) -> None:
        delay = 0.5
        while True:
            try:
                channel = await self._ensure_channel()
                declared = await self._declare(channel, queue)
                break
            except Exception as exc:  # noqa: BLE001 - keep trying until the broker is reachable
                log.warning("broker not reachable for %s (%r); retrying in %.1fs", queue, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._handle(channel, queue, message, handler)

        await declared.consume(on_message)
        log.info("consuming %s from RabbitMQ", queue)
        await asyncio.Future()  # the robust connection restores the consumer after reconnects

    async def _handle(
        self, channel: aio_pika.abc.AbstractChannel, queue: str, message: AbstractIncomingMessage, handler: JobHandler
    ) -> None:
        headers = dict(message.headers or {})
        previous = headers.get("x-attempts", 0)
        attempt = (previous if isinstance(previous, int) else 0) + 1
        try:
            await _handle_with_id(queue, handler, _decode(message.body))
        except JobRejected as exc:
            log.warning("job on %s failed: %s", queue, exc)
            await self._send(
                channel,
                f"{queue}.dead",
                message.body,
                {**headers, "x-attempts": attempt, "x-error": str(exc), "x-reason": "rejected"},
            )
        except Exception as exc:  # noqa: BLE001 - a job's failure never stops the consumer
            if attempt >= self._policy.max_attempts:
                log.error("job on %s dead after %d attempts: %r", queue, attempt, exc)
                JOBS.labels(queue, "dead").inc()
                await self._send(
                    channel,
                    f"{queue}.dead",
                    message.body,
                    {**headers, "x-attempts": attempt, "x-error": repr(exc), "x-reason": "exhausted"},
                )
            else:
                wait = self._policy.delay(attempt)
                log.warning("job on %s failed (attempt %d), retry in %.1fs: %r", queue, attempt, wait, exc)
                await self._send(
                    channel, self._policy.retry_queue(queue, attempt), message.body, {**headers, "x-attempts": attempt}
                )
        await message.ack()

    async def depth(self, queue: str) -> int:
        """Messages ready in the queue (a declaration answers with the count; unacknowledged ones aside)."""
        async with asyncio.timeout(self.publish_timeout):
            declared = await self._declare(await self._ensure_channel(), queue)
        return int(declared.declaration_result.message_count or 0)

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self.publish_timeout):
                await self._ensure_channel()
            return self._connection is not None and not self._connection.is_closed
        except Exception:  # noqa: BLE001
            return False

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


class SqliteJobQueue:
    """Rows in the `jobs` table; a claimed job is leased, so a consumer that dies loses nothing."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        owns_connection: bool = False,
        *,
        policy: RetryPolicy | None = None,
        poll_interval: float = 0.2,
        lease_seconds: float = 120.0,
        concurrency: int = 2,
    ) -> None:
        self._conn = conn
        self._owns_connection = owns_connection
        self.publish_timeout = ENGINE_WAIT_SECONDS  # one INSERT, waiting at most for another writer's lock
        self._policy = policy or RetryPolicy()
        self._poll = poll_interval
        self._lease = lease_seconds
        self._concurrency = concurrency

    async def publish(self, queue: str, payload: Mapping[str, object]) -> None:
        now = time.time()
        await self._conn.execute(
            "INSERT INTO jobs (queue, payload, visible_at, created_at) VALUES (?, ?, ?, ?)",
            (queue, json.dumps(_stamped(payload)), now, now),
        )

    async def _claim(self, queue: str) -> tuple[int, str, int] | None:
        now = time.time()
        rows = await fetch(
            self._conn,
            "UPDATE jobs SET attempts = attempts + 1, visible_at = ? WHERE id = ("
            " SELECT id FROM jobs WHERE queue = ? AND state = 'ready' AND visible_at <= ? ORDER BY id LIMIT 1"
            ") RETURNING id, payload, attempts",
            (now + self._lease, queue, now),
        )
        row = rows[0] if rows else None
        return (int(row[0]), str(row[1]), int(row[2])) if row is not None else None

    async def consume(self, queue: str, handler: JobHandler) -> None:
        log.info("consuming %s from the SQLite file", queue)
        async with asyncio.TaskGroup() as group:
            for _ in range(self._concurrency):
                group.create_task(self._work(queue, handler))

    async def _work(self, queue: str, handler: JobHandler) -> None:
        while True:
            try:
                claimed = await self._claim(queue)
            except Exception as exc:  # noqa: BLE001 - a locked or unavailable file: try again shortly
                log.warning("could not claim a job on %s: %r", queue, exc)
                claimed = None
            if claimed is None:
                await asyncio.sleep(self._poll)
                continue
            job_id, body, attempt = claimed
            await self._run(queue, job_id, body, attempt, handler)

    async def _run(self, queue: str, job_id: int, body: str, attempt: int, handler: JobHandler) -> None:
        try:
            await _handle_with_id(queue, handler, _decode(body))
        except JobRejected as exc:
            log.warning("job %d on %s failed: %s", job_id, queue, exc)
            await self._record("UPDATE jobs SET state = 'failed', last_error = ? WHERE id = ?", (str(exc), job_id))
        except Exception as exc:  # noqa: BLE001 - a job's failure never stops the consumer
            if attempt >= self._policy.max_attempts:
                log.error("job %d on %s dead after %d attempts: %r", job_id, queue, attempt, exc)
                JOBS.labels(queue, "dead").inc()
                await self._record("UPDATE jobs SET state = 'dead', last_error = ? WHERE id = ?", (repr(exc), job_id))
            else:
                wait = self._policy.delay(attempt)
                log.warning("job %d on %s failed (attempt %d), retry in %.1fs: %r", job_id, queue, attempt, wait, exc)
                await self._record(
                    "UPDATE jobs SET visible_at = ?, last_error = ? WHERE id = ?",
                    (time.time() + wait, repr(exc), job_id),
                )
        else:
            await self._record("DELETE FROM jobs WHERE id = ?", (job_id,))

    async def depth(self, queue: str) -> int:
        """Jobs ready to run now (not leased, not waiting for a retry)."""
        rows = await fetch(
            self._conn,
            "SELECT COUNT(*) FROM jobs WHERE queue = ? AND state = 'ready' AND visible_at <= ?",
            (queue, time.time()),
        )
        return int(rows[0][0])

    async def _record(self, sql: str, args: tuple[Any, ...]) -> None:
        """A job's outcome, retried while the file is locked; if it never lands the lease runs out and the
        job runs again (at least once), which its handler tolerates."""
        pause = 0.05
        for attempt in range(8):
            try:
                await self._execute(sql, args)
                return
            except Exception as exc:  # noqa: BLE001 - `database is locked` and its kin
                if attempt == 7:
                    log.error("job outcome not recorded, the job will run again: %r", exc)
                    return
                log.warning("job outcome not recorded yet (%r); retrying", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)

    async def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        await self._conn.execute(sql, args)

    async def ping(self) -> bool:
        return await sqlite_alive(self._conn)

    async def close(self) -> None:
        if self._owns_connection:
            await self._conn.close()


async def open_job_queue(
    settings: EngineSettings, sqlite: aiosqlite.Connection | None = None, policy: RetryPolicy | None = None
) -> JobQueue:
    """A job queue with its own connection (tools and tests; services use `setup_job_queue`), or on the
    given SQLite connection."""
    if settings.amqp_url:
        return RabbitJobQueue(settings.amqp_url, policy=policy, queue_type=settings.amqp_queue_type)
    if sqlite is not None:
        await apply_schema(sqlite, SQLITE_SCHEMA)
        return SqliteJobQueue(sqlite, policy=policy)
    conn = await open_sqlite(settings.sqlite_path, SQLITE_SCHEMA)
    return SqliteJobQueue(conn, owns_connection=True, policy=policy)


JOBS_KEY = web.AppKey("jobs", JobQueue)


def setup_job_queue(app: web.Application, engines: EngineSettings, policy: RetryPolicy | None = None) -> Check:
    """RabbitMQ when configured, otherwise the SQLite file, for the app's life; return its readiness check."""
    select_engine(app, engines.amqp_url, FAILURES, engines.sqlite_path)

    async def open_(app: web.Application) -> JobQueue:
        return await open_job_queue(engines, app.get(SQLITE_KEY), policy)

    return hold(app, JOBS_KEY, open_)


class Consumer:
    """A supervised consumer: if consuming ever stops with an error, it is logged and started again after a
    backoff, and `alive` is false meanwhile (a readiness check)."""

    def __init__(self, queue: JobQueue, name: str, handler: JobHandler, restart_delay: float = 1.0) -> None:
        self._queue, self._name, self._handler = queue, name, handler
        self._restart_delay = restart_delay
        self.restarts = 0
        self._running = False
        self._task = asyncio.create_task(self._supervise(), name=f"consume-{name}")

    @property
    def alive(self) -> bool:
        return self._running and not self._task.done()

    async def _supervise(self) -> None:
        delay = self._restart_delay
        while True:
            self._running = True
            try:
                await self._queue.consume(self._name, self._handler)
                raise RuntimeError("consumer returned")
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - a dead consumer is restarted, never left dead
                self._running = False
                self.restarts += 1
                log.error("consumer of %s stopped (%r); restarting in %.1fs", self._name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def run_consumer(queue: JobQueue, name: str, handler: JobHandler) -> Consumer:
    """Start a supervised consumer; the caller stops it on shutdown."""
    return Consumer(queue, name, handler)


CONSUMER_KEY = web.AppKey("consumer", Consumer)


def setup_consumer(app: web.Application, queue: str, make_handler: Callable[[web.Application], JobHandler]) -> Check:
    """Consume `queue` with a supervised consumer for the app's life (after the cleanup contexts added
    before this call, whose resources `make_handler` may use); return its readiness check."""

    async def consumer_ctx(app: web.Application) -> AsyncIterator[None]:
        app[CONSUMER_KEY] = await run_consumer(app[JOBS_KEY], queue, make_handler(app))
        yield
        await app[CONSUMER_KEY].stop()

    async def consumer_ready() -> bool:
        return CONSUMER_KEY in app and app[CONSUMER_KEY].alive

    app.cleanup_ctx.append(consumer_ctx)
    return consumer_ready


def queue_depth(app: web.Application, queue: str) -> Refresh:
    """A scrape-time refresh of `queue`'s depth gauge; an unreachable engine leaves the last value."""

    async def refresh() -> None:
        try:
            QUEUE_DEPTH.labels(queue).set(await app[JOBS_KEY].depth(queue))
        except Exception as exc:  # noqa: BLE001 - a scrape must answer whatever the broker does
            log.warning("queue depth of %s not read: %r", queue, exc)

    return refresh
