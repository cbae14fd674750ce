"""The token store on the selected adapter set's real engine (the SQLite file, or Redis with
FM_BACKENDS=engines): lookups that arrive together (one MGET on Redis) each get their own user, and a
token ended before a lookup began is never found by it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.sqlite import open_sqlite
from shared.tokens import SQLITE_SCHEMA, RedisTokenStore, SqliteTokenStore, TokenStore
from tests.support.engines import selected_backends


@pytest.fixture
async def tokens(tmp_path: Path) -> AsyncIterator[TokenStore]:
    if os.environ.get("FM_BACKENDS", "embedded") == "engines":
        store = RedisTokenStore(str(selected_backends().redis_url))
        yield store
        await store.close()
        return
    conn = await open_sqlite(tmp_path / "tokens.sqlite3", SQLITE_SCHEMA)
    yield SqliteTokenStore(conn)
    await conn.close()


async def test_concurrent_lookups_each_find_their_own_user(tokens: TokenStore) -> None:
    issued = {str(uuid.uuid4()): uuid.uuid4().hex[:24] for _ in range(40)}
    for token, user in issued.items():
        await tokens.set(token, user, ttl=60)
    unknown = [str(uuid.uuid4()) for _ in range(10)]
    asked = [*issued, *unknown, *list(issued)[:5]]
    found = await asyncio.gather(*(tokens.get(token) for token in asked))
    assert found == [issued.get(token) for token in asked]
    for token in issued:
        await tokens.delete(token)


async def test_a_token_ended_before_the_lookup_is_never_found(tokens: TokenStore) -> None:
    for _ in range(20):
        token, user = str(uuid.uuid4()), uuid.uuid4().hex[:24]
        await tokens.set(token, user, ttl=60)
        neighbours = [asyncio.ensure_future(tokens.get(str(uuid.uuid4()))) for _ in range(5)]
        assert await tokens.get(token) == user
        await tokens.delete(token)
        assert await asyncio.gather(tokens.get(token), tokens.get(token)) == [None, None]
        assert await asyncio.gather(*neighbours) == [None] * 5
