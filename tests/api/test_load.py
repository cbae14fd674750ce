"""Many connections at once queue and are answered; none is shed with a 503 (back-pressure, not refusal)."""

from __future__ import annotations

import asyncio
import collections

import aiohttp

from tests.conftest import Api
from tests.support.stack import Stack

CONNECTIONS = 1024


async def test_a_thousand_simultaneous_connections_are_all_answered(api: Api, stack: Stack) -> None:
    """Each request on its own connection, all opened together: the token store's pool, the gateway's
    upstream pool and the listen backlogs must make them wait, never fail."""
    _, token = await api.new_user()
    created = await api.upload(token, "load.txt", data=b"x" * 1024)
    paths = ("/users/me", f"/files/{created['id']}", f"/files/{created['id']}/data")
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(index: int) -> int:
            url = stack.url + paths[index % len(paths)]
            async with session.get(url, headers={"X-Token": token}) as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(one(i) for i in range(CONNECTIONS)), return_exceptions=True)
    counts = collections.Counter(s if isinstance(s, int) else type(s).__name__ for s in statuses)
    assert counts == {200: CONNECTIONS}, counts
