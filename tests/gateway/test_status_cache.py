"""/status is measured at most once a second per process, and concurrent callers share the measurement."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.handlers import StatusCache, StatusView
from tests.support.inprocess import eventually


async def test_concurrent_callers_share_one_measurement_and_it_expires() -> None:
    calls = 0
    release = asyncio.Event()

    async def measure() -> StatusView:
        nonlocal calls
        calls += 1
        await release.wait()
        return {"redis": True, "db": calls % 2 == 1}

    cache = StatusCache(measure, ttl=0.2)
    waiting = [asyncio.ensure_future(cache.get()) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [{"redis": True, "db": True}] * 50
    assert await cache.get() == {"redis": True, "db": True} and calls == 1  # within the second: no new measure

    async def remeasured() -> bool:
        return await cache.get() == {"redis": True, "db": False}

    assert await eventually(remeasured, timeout=5, interval=0.05)
    assert calls == 2


async def test_a_failed_measurement_is_not_kept() -> None:
    attempts = 0

    async def measure() -> StatusView:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("boom")
        return {"redis": True, "db": True}

    cache = StatusCache(measure)
    with pytest.raises(RuntimeError):
        await cache.get()
    assert await cache.get() == {"redis": True, "db": True} and attempts == 2
