"""Batched reads (shared/batching.py): the keys of one turn of the loop in one fetch, each caller its own
value, errors and cancellations confined to what they concern."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.batching import Batched


class Recorder:
    """A fetch that records each batch it is given and answers `value-<key>` (or fails for "boom")."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay

    async def __call__(self, keys: Sequence[str]) -> list[str]:
        self.batches.append(list(keys))
        if self.delay:
            await asyncio.sleep(self.delay)
        if "boom" in keys:
            raise RuntimeError("engine said no")
        return [f"value-{key}" for key in keys]


async def test_keys_asked_for_in_one_turn_are_fetched_once_each_in_one_batch() -> None:
    fetch = Recorder()
    reader: Batched[str, str] = Batched(fetch)
    keys = ["a", "b", "a", "c", "b", "a"]
    values = await asyncio.gather(*(reader.load(key) for key in keys))
    assert values == [f"value-{key}" for key in keys]
    assert fetch.batches == [["a", "b", "c"]]


async def test_later_turns_get_batches_of_their_own() -> None:
    fetch = Recorder()
    reader: Batched[str, str] = Batched(fetch)
    assert await reader.load("a") == "value-a"
    assert await reader.load("a") == "value-a"  # fetched again: nothing is remembered between batches
    assert await asyncio.gather(reader.load("b"), reader.load("c")) == ["value-b", "value-c"]
    assert fetch.batches == [["a"], ["a"], ["b", "c"]]


async def test_a_batch_is_at_most_max_batch_keys() -> None:
    fetch = Recorder()
    reader: Batched[str, str] = Batched(fetch, max_batch=4)
    keys = [str(index) for index in range(10)]
    assert await asyncio.gather(*(reader.load(key) for key in keys)) == [f"value-{key}" for key in keys]
    assert [len(batch) for batch in fetch.batches] == [4, 4, 2]


async def test_a_failed_fetch_fails_its_batch_only() -> None:
    fetch = Recorder()
    reader: Batched[str, str] = Batched(fetch)
    failed = await asyncio.gather(reader.load("x"), reader.load("boom"), return_exceptions=True)
    assert [type(outcome) for outcome in failed] == [RuntimeError, RuntimeError]
    assert await reader.load("x") == "value-x"  # the next turn's batch is unaffected


async def test_a_caller_that_gives_up_leaves_the_others_their_values() -> None:
    fetch = Recorder(delay=0.05)
    reader: Batched[str, str] = Batched(fetch)
    quitter = asyncio.ensure_future(reader.load("a"))
    stayer = asyncio.ensure_future(reader.load("b"))
    await asyncio.sleep(0)  # both queued, the batch not yet answered
    quitter.cancel()
    assert await stayer == "value-b"
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert fetch.batches == [["a", "b"]]


async def test_a_reader_follows_the_running_loop() -> None:
    """A store made in one loop and used in another (a test's fixtures, a restarted worker) still works."""
    fetch = Recorder()
    reader: Batched[str, str] = Batched(fetch)
    assert await reader.load("a") == "value-a"

    def other_loop() -> str:
        return asyncio.run(_load(reader, "b"))

    assert await asyncio.to_thread(other_loop) == "value-b"
    assert await reader.load("c") == "value-c"


async def _load(reader: Batched[str, str], key: str) -> str:
    return await reader.load(key)
