"""Reads by id that arrive together are answered by one query (shared/batching.py) on the selected adapter
set's real store: each caller gets exactly what a read of its own would give (owner checked, records being
deleted invisible), and a write acknowledged before a read began is always seen by it."""

from __future__ import annotations

import asyncio
import time

from bson import ObjectId

from services.files.files_store import FileRecord, FileStore
from shared.database import new_id
from tests.files.conftest import Files


async def add(store: FileStore, owner: str, name: str) -> FileRecord:
    record = FileRecord(id=new_id(), user_id=owner, name=name, type="folder", is_public=False, parent_id=0)
    await store.insert(record)
    return record


async def test_concurrent_reads_each_get_what_a_read_of_their_own_gets(files: Files) -> None:
    store = files.store
    alice, bob = str(ObjectId()), str(ObjectId())
    mine = [await add(store, alice, f"a-{index}") for index in range(5)]
    theirs = [await add(store, bob, f"b-{index}") for index in range(3)]
    gone = await add(store, alice, "being deleted")
    await store.mark_deleted([gone.id], time.time())
    missing = str(ObjectId())

    asks: list[tuple[str, str]] = [(record.id, alice) for record in mine]
    asks += [(record.id, alice) for record in theirs]  # someone else's: not found for alice
    asks += [(record.id, bob) for record in theirs]
    asks += [(gone.id, alice), (missing, alice), (mine[0].id, alice), (mine[0].id.upper(), alice)]
    asks += [("not-an-id", alice), (mine[1].id, "not-a-user")]

    alone = [await store.get_owned(file_id, owner) for file_id, owner in asks]
    together = await asyncio.gather(*(store.get_owned(file_id, owner) for file_id, owner in asks))
    assert [r.id if r else None for r in together] == [r.id if r else None for r in alone]
    assert [r.name if r else None for r in together] == (
        [r.name for r in mine] + [None] * 3 + [r.name for r in theirs] + [None, None, "a-0", "a-0", None, None]
    )

    anyone = await asyncio.gather(*(store.get(file_id) for file_id, _ in asks))
    assert [r.user_id if r else None for r in anyone] == (
        [alice] * 5 + [bob] * 6 + [None, None, alice, alice, None, alice]
    )


async def test_a_batch_sees_every_write_acknowledged_before_its_reads_began(files: Files) -> None:
    store = files.store
    owner = str(ObjectId())
    for round_ in range(20):
        record = await add(store, owner, f"new-{round_}")
        others = [asyncio.ensure_future(store.get_owned(str(ObjectId()), owner)) for _ in range(5)]
        seen = await store.get_owned(record.id, owner)
        assert seen is not None and seen.name == f"new-{round_}"
        await store.mark_deleted([record.id], time.time())
        assert await asyncio.gather(store.get_owned(record.id, owner), store.get(record.id)) == [None, None]
        assert await asyncio.gather(*others) == [None] * 5
