"""The RabbitMQ job queue against the real broker: durable, persistent, retried, dead-lettered."""

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import pytest

from shared.jobs import JobRejected, RabbitJobQueue, RetryPolicy
from tests.support.engines import Backends
from tests.support.payloads import consume_for

pytestmark = pytest.mark.engines


@pytest.fixture
async def queue_name(backends: Backends) -> Any:
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    connection = await aio_pika.connect(str(backends.amqp_url))
    async with connection:
        channel = await connection.channel()
        for declared in RetryPolicy(max_attempts=6, base_delay=0.1).queue_names(name) + RetryPolicy().queue_names(name):
            await channel.queue_delete(declared)


async def dead_letters(url: str, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    connection = await aio_pika.connect(url)
    out = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{name}.dead", passive=True)  # as declared, classic or quorum
        while (message := await queue.get(fail=False)) is not None:
            out.append((json.loads(message.body), dict(message.headers)))
            await message.ack()
    return out


async def test_messages_are_durable_and_persistent(backends: Backends, queue_name: str) -> None:
    queue = RabbitJobQueue(str(backends.amqp_url))
    await queue.publish(queue_name, {"fileId": "f"})
    await queue.close()
    connection = await aio_pika.connect(str(backends.amqp_url))
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue_name, passive=True)
        message = await declared.get()
        assert json.loads(message.body) == {"fileId": "f"}
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        await message.ack()


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
async def test_retries_with_backoff_then_dead_letter(backends: Backends, queue_name: str, queue_type: str) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.1)
    queue = RabbitJobQueue(str(backends.amqp_url), policy=policy, queue_type=queue_type)
    calls = 0

    async def handler(payload: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("transient")

    await queue.publish(queue_name, {"n": 1})
    await consume_for(queue, queue_name, handler, 2.0)
    await queue.close()
    assert calls == 3
    [(payload, headers)] = await dead_letters(str(backends.amqp_url), queue_name)
    assert payload == {"n": 1} and headers["x-reason"] == "exhausted" and headers["x-attempts"] == 3


async def test_rejected_jobs_go_straight_to_the_dead_letter_queue(backends: Backends, queue_name: str) -> None:
    queue = RabbitJobQueue(str(backends.amqp_url))
    calls = 0

    async def handler(payload: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise JobRejected("File not found")

    await queue.publish(queue_name, {"n": 2})
    await consume_for(queue, queue_name, handler, 1.0)
    await queue.close()
    assert calls == 1
    [(payload, headers)] = await dead_letters(str(backends.amqp_url), queue_name)
    assert headers["x-error"] == "File not found" and headers["x-reason"] == "rejected"


async def test_a_short_retry_never_waits_behind_a_long_one(backends: Backends, queue_name: str) -> None:
    """`slow` fails until its retry waits 1.6 s; then `fast` fails once (a 0.1 s retry) and must come back
    long before `slow` does, which one retry queue with per-message TTLs would not allow."""
    policy = RetryPolicy(max_attempts=6, base_delay=0.1)  # retries after 0.1, 0.2, 0.4, 0.8, 1.6 s
    queue = RabbitJobQueue(str(backends.amqp_url), policy=policy)
    loop = asyncio.get_running_loop()
    deliveries: dict[str, list[float]] = {"slow": [], "fast": []}

    async def handler(payload: dict[str, Any]) -> None:
        name = payload["name"]
        deliveries[name].append(loop.time())
        if name == "slow" and len(deliveries["slow"]) == 5:
            await queue.publish(queue_name, {"name": "fast"})  # slow is now in the 1.6 s tier
        if (name, len(deliveries[name])) in (("fast", 1), *(("slow", n) for n in range(1, 6))):
            raise RuntimeError("transient")

    await queue.publish(queue_name, {"name": "slow"})
    await consume_for(queue, queue_name, handler, 4.0)
    await queue.close()
    assert len(deliveries["slow"]) == 6 and len(deliveries["fast"]) == 2, deliveries
    fast_wait = deliveries["fast"][1] - deliveries["fast"][0]
    assert fast_wait < 1.0 and deliveries["fast"][1] < deliveries["slow"][5], deliveries


async def test_an_unroutable_publish_fails_instead_of_vanishing(backends: Backends) -> None:
    queue = RabbitJobQueue(str(backends.amqp_url))
    channel = await queue._ensure_channel()
    with pytest.raises(aio_pika.exceptions.DeliveryError):
        await queue._send(channel, f"nobody-{uuid.uuid4().hex}", b"{}", {})
    await queue.close()


async def test_quorum_queues_are_declared_quorum(backends: Backends, queue_name: str) -> None:
    """AMQP_QUEUE_TYPE=quorum: every queue of a job (main, retry tiers, dead letters) is a quorum queue, so
    a classic declaration of the same name is refused. (They retry and dead-letter: the test above.)"""
    policy = RetryPolicy(max_attempts=3, base_delay=0.1)
    queue = RabbitJobQueue(str(backends.amqp_url), policy=policy, queue_type="quorum")
    await queue.publish(queue_name, {"n": 1})
    await queue.close()
    connection = await aio_pika.connect(str(backends.amqp_url))
    async with connection:
        for name in policy.queue_names(queue_name):
            channel = await connection.channel()  # a refused declaration closes its channel
            with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
                await channel.declare_queue(name, durable=True)
