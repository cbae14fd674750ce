"""Reads by key that arrive together go to the engine together: one query for a turn of the event loop.

At a few hundred requests a second many handlers look a record up by key in the same turn of the loop, and
each engine round trip costs far more CPU in the driver than the bytes it moves (docs/adr/0013). A
`Batched` reader queues the keys asked for during one turn and fetches them with one query in the next
(aiodataloader's DataLoader, its cache off: nothing is remembered between batches, so every read is as
fresh as a read of its own would be: the query is sent after each caller asked).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_BATCH = 100


class Batched(Generic[K, V]):
    """`await reader.load(key)`: what `fetch` returns for the key, fetched with the other keys of this turn.

    `fetch` gets the distinct keys and returns the value of each, in their order. An error in it reaches
    every caller of the batch; a caller that gives up (cancelled) leaves the others theirs.
    """

    def __init__(self, fetch: Callable[[Sequence[K]], Awaitable[Sequence[V]]], max_batch: int = MAX_BATCH) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._loader: DataLoader[K, V] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _fetch_batch(self, keys: list[K]) -> list[V]:
        distinct = list(dict.fromkeys(keys))  # a key asked for twice in one turn is fetched once
        values = await self._fetch(distinct)
        by_key = dict(zip(distinct, values, strict=True))
        return [by_key[key] for key in keys]

    def load(self, key: K) -> Awaitable[V]:
        loop = asyncio.get_running_loop()
        if self._loader is None or self._loop is not loop:
            self._loader = DataLoader(self._fetch_batch, cache=False, max_batch_size=self._max_batch, loop=loop)
            self._loop = loop
        return self._loader.load(key)
