"""Engine outages: 503 with a JSON error while an engine is down, recovery with no restart of ours."""

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.api.test_thumbnails import wait_for
from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.engines import Backends
from tests.support.images import image_bytes
from tests.support.stack import Stack

pytestmark = pytest.mark.engines


@pytest.fixture
def engine_outage(stack: Stack) -> Iterator[list[str]]:
    """Names put here by a test are stopped by it and always started again afterwards."""
    stopped: list[str] = []
    yield stopped
    for engine in stopped:
        stack.engine("start", engine)


async def until(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.3)


async def status_is(api: Api, expected: dict[str, bool]) -> bool:
    status, body, _ = await api.call("GET", "/status")
    return status == 200 and body == expected


async def both_stores_alive(api: Api) -> bool:
    return await status_is(api, {"redis": True, "db": True})


async def test_redis_down_status_false_protected_503_then_recovers(
    api: Api, stack: Stack, engine_outage: list[str]
) -> None:
    _, token = await api.new_user()
    engine_outage.append("redis")
    stack.engine("stop", "redis")
    assert await until(lambda: status_is(api, {"redis": False, "db": True}))  # /status is kept for a second
    for method, path in (("GET", "/users/me"), ("GET", "/files"), ("POST", "/files")):
        status, body, _ = await api.call(method, path, token=token, json={"name": "x", "type": "folder"})
        assert status == 503 and body == {"error": "Service unavailable"}, (path, body)
    stack.engine("start", "redis")
    engine_outage.clear()

    # Recovery of ours, whatever Redis kept: a fresh login works through the same running services.
    assert await until(lambda: both_stores_alive(api))
    _, email = await api.sign_up()
    fresh = await api.log_in(email)
    status, body, _ = await api.call("GET", "/users/me", token=fresh)
    assert status == 200 and body["email"] == email


async def test_rabbitmq_down_uploads_succeed_and_thumbnails_follow(
    api: Api, stack: Stack, store: DirectStore, engine_outage: list[str]
) -> None:
    _, token = await api.new_user()
    engine_outage.append("rabbitmq")
    stack.engine("stop", "rabbitmq")
    view = await api.upload(token, "during-outage.png", "image", image_bytes(120, 60))
    [record] = store.files(id=view["id"])
    local = record["localPath"]
    # Acknowledged with its job still to publish: pending, and no thumbnail can exist yet.
    assert view["thumbnail"] == record["raw"]["thumbnail"] == "pending"
    assert not stack.blobs.exists(f"{local}_100")
    stack.engine("start", "rabbitmq")
    engine_outage.clear()
    await wait_for(stack, f"{local}_100", timeout=60)
    await wait_for(stack, f"{local}_500", timeout=10)


async def test_mongodb_down_is_503_then_recovers(api: Api, stack: Stack, engine_outage: list[str]) -> None:
    _, token = await api.new_user()
    folder = await api.upload(token, "before", "folder")
    engine_outage.append("mongo")
    stack.engine("stop", "mongo")
    assert await until(lambda: status_is(api, {"redis": True, "db": False}))  # /status is kept for a second
    for method, path in (("GET", f"/files/{folder['id']}"), ("GET", "/stats"), ("GET", "/users/me")):
        status, body, _ = await api.call(method, path, token=token)
        assert status == 503 and body == {"error": "Service unavailable"}, (path, body)
    stack.engine("start", "mongo")
    engine_outage.clear()

    # Recovery of ours, whatever the server kept: new writes and reads work through the same processes.
    assert await until(lambda: both_stores_alive(api))
    _, fresh = await api.new_user()
    created = await api.upload(fresh, "after", "folder")
    status, body, _ = await api.call("GET", f"/files/{created['id']}", token=fresh)
    assert status == 200 and body["name"] == "after"


async def test_redis_out_of_memory_is_507_and_a_later_login_works(api: Api, backends: Backends) -> None:
    """A token that cannot be stored is Insufficient storage, not an outage; nothing half-done remains."""
    import redis

    user_id, email = await api.sign_up()
    client = redis.Redis.from_url(str(backends.redis_url))
    before = client.config_get("maxmemory")["maxmemory"], client.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")  # every write is refused with OOM; reads still work
        status, body, _ = await api.call("GET", "/connect", headers={"Authorization": api_basic(email)})
        assert (status, body) == (507, {"error": "Insufficient storage"})
    finally:
        client.config_set("maxmemory", before[0])
        client.config_set("maxmemory-policy", before[1])
        client.close()
    token = await api.log_in(email)
    status, body, _ = await api.call("GET", "/users/me", token=token)
    assert (status, body) == (200, {"id": user_id, "email": email})


def api_basic(email: str, password: str = "toto1234!") -> str:
    import base64

    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()
