"""Record ids sort in the order they were made, across processes too (the contract's listing order)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection

from bson import ObjectId

from shared.database import new_id, ordered_id


def serve_ids(conn: Connection) -> None:
    while conn.recv():
        conn.send(new_id())


def test_ids_made_in_turn_by_two_processes_sort_in_the_order_they_were_made() -> None:
    """gunicorn's workers are forked: each answers in turn, as sequential uploads spread over workers do.
    With the driver's ObjectId, ids of two processes within one second sort by their random bytes."""
    context = multiprocessing.get_context("fork")
    workers = []
    for _ in range(2):
        here, there = context.Pipe()
        process = context.Process(target=serve_ids, args=(there,))
        process.start()
        workers.append((process, here))
    try:
        made = []
        for turn in range(400):
            _, conn = workers[turn % 2]
            conn.send(True)
            made.append(conn.recv())
    finally:
        for process, conn in workers:
            conn.send(False)
            process.join(timeout=10)
    assert made == sorted(made)
    assert len({ObjectId(i).binary[7:9] for i in made}) == 2  # each process drew its own bytes


def test_ids_are_unique_and_increasing_within_a_process() -> None:
    made = [new_id() for _ in range(100_000)]
    assert made == sorted(made) and len(set(made)) == len(made)


def test_an_id_is_an_object_id_with_the_creation_second() -> None:
    import time

    before = int(time.time())
    oid = ordered_id()
    assert before <= int(oid.generation_time.timestamp()) <= int(time.time())
    assert ObjectId.is_valid(str(oid))
