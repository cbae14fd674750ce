"""Login rate limiting: the counters on the selected adapter set's real store (the SQLite file, or Redis with
FM_BACKENDS=engines), raced; and /connect in process answering 429 with Retry-After, then letting a correct
login through once the window has passed."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pytest_aiohttp import AiohttpClient

from services.auth.throttle import SQLITE_SCHEMA, AttemptCounter, LoginThrottle, RedisAttempts, SqliteAttempts
from services.auth.throttle import ThrottleSettings as Limits
from shared.errors import TooManyRequestsError
from shared.sqlite import open_sqlite
from tests.support.engines import selected_backends
from tests.support.inprocess import Signed, eventually


@pytest.fixture
async def counter(tmp_path: Path) -> AsyncIterator[AttemptCounter]:
    if os.environ.get("FM_BACKENDS", "embedded") == "engines":
        client = aioredis.Redis.from_url(str(selected_backends().redis_url))
        yield RedisAttempts(client)
        await client.aclose()
        return
    conn = await open_sqlite(tmp_path / "attempts.sqlite3", SQLITE_SCHEMA)
    yield SqliteAttempts(conn)
    await conn.close()


def fresh() -> str:
    return f"{uuid.uuid4().hex}@example.com"


async def test_concurrent_guesses_never_pass_the_limit(counter: AttemptCounter) -> None:
    throttle = LoginThrottle(counter, Limits(per_account=10, per_address=0, window=60))
    email = fresh()
    outcomes = await asyncio.gather(*(throttle.claim(email, "10.0.0.1") for _ in range(60)), return_exceptions=True)
    passed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, TooManyRequestsError)]
    assert (len(passed), len(refused)) == (10, 50)
    assert all(1 <= r.retry_after <= 60 for r in refused)


async def test_a_success_clears_the_account_and_returns_the_address_slot(counter: AttemptCounter) -> None:
    throttle = LoginThrottle(counter, Limits(per_account=3, per_address=3, window=60))
    email, address = fresh(), f"addr-{uuid.uuid4().hex}"
    for _ in range(2):
        await throttle.claim(email, address)  # two failures
    await throttle.succeeded(await throttle.claim(email, address))
    for _ in range(3):  # the account starts again; the address still holds its two failures
        await throttle.claim(email, "elsewhere-" + uuid.uuid4().hex)
    await throttle.claim(fresh(), address)
    with pytest.raises(TooManyRequestsError):
        await throttle.claim(fresh(), address)


async def test_the_window_ends(counter: AttemptCounter) -> None:
    key = f"login_attempts_test_{uuid.uuid4().hex}"
    assert (await counter.take(key, 1))[0] == 1
    count, left = await counter.take(key, 1)
    assert count == 2 and 0 < left <= 1

    async def restarted() -> bool:
        return (await counter.take(key, 1))[0] == 1

    await eventually(restarted, timeout=5, interval=0.2)


def basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


@pytest.fixture
async def strict_auth(aiohttp_client: AiohttpClient, embedded: Path, monkeypatch: pytest.MonkeyPatch) -> Signed:
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "5")
    monkeypatch.setenv("LOGIN_WINDOW_SECONDS", "2")
    from services.auth.app import create_app

    return Signed(await aiohttp_client(create_app()))


async def test_connect_answers_429_after_the_limit_then_works_once_the_window_passed(strict_auth: Signed) -> None:
    email = fresh()
    status, _, _ = await strict_auth.call("POST", "/users", json={"email": email, "password": "right"})
    assert status == 201
    for _ in range(3):
        status, body, _ = await strict_auth.call("GET", "/connect", headers=basic(email, "wrong"))
        assert (status, body) == (401, {"error": "Unauthorized"})
    status, body, response = await strict_auth.call("GET", "/connect", headers=basic(email, "right"))
    assert (status, body) == (429, {"error": "Too many requests"})
    assert 1 <= int(response.headers["Retry-After"]) <= 2

    async def logged_in() -> bool:
        status, body, _ = await strict_auth.call("GET", "/connect", headers=basic(email, "right"))
        return status == 200 and "token" in body

    await eventually(logged_in, timeout=6, interval=0.25)


async def test_one_address_guessing_many_accounts_is_stopped_and_others_are_not(strict_auth: Signed) -> None:
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(5):
        status, _, _ = await strict_auth.call("GET", "/connect", headers={**basic(fresh(), "guess"), **attacker})
        assert status == 401
    status, body, _ = await strict_auth.call("GET", "/connect", headers={**basic(fresh(), "guess"), **attacker})
    assert (status, body) == (429, {"error": "Too many requests"})
    email = fresh()
    await strict_auth.call("POST", "/users", json={"email": email, "password": "right"})
    status, _, _ = await strict_auth.call(
        "GET", "/connect", headers={**basic(email, "right"), "X-Forwarded-For": "198.51.100.4"}
    )
    assert status == 200
