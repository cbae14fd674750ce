"""The tree invariants under racing requests, on the domain classes and the real store (see conftest)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

from services.files.files_store import FileRecord
from services.files.library import Library, claim_lifetime
from services.files.uploads import PatchRequest, UploadRequest
from shared.database import new_id
from shared.errors import DomainError, NotFoundError, ValidationError
from shared.identity import Caller
from tests.files.conftest import Files
from tests.support.images import image_bytes
from tests.support.inprocess import eventually

OWNER = Caller(new_id())


async def folder(files: Files, name: str, parent: int | str = 0) -> str:
    view = await files.library.upload(OWNER, UploadRequest(name, "folder", parent, False, None), None)
    return str(view["id"])


async def upload_file(files: Files, name: str, parent: int | str, data: bytes = b"bytes") -> dict[str, Any]:
    async def stage():  # type: ignore[no-untyped-def]
        return await files.library._blobs.write(data)

    return await files.library.upload(OWNER, UploadRequest(name, "file", parent, False, "x"), stage)


async def outcome(coro: Any) -> str:
    try:
        await coro
        return "ok"
    except DomainError as exc:
        return type(exc).__name__


async def assert_invariants(files: Files) -> None:
    report = await files.checker.check(grace=0)
    assert report.violations == [], "\n".join(map(str, report.violations))
    assert report.of("pending-delete") == []


async def test_crossed_moves_never_make_a_cycle(files: Files) -> None:
    for _ in range(20):
        x, y = await folder(files, "x"), await folder(files, "y")
        results = await asyncio.gather(
            outcome(files.library.change(OWNER, x, PatchRequest(None, y))),
            outcome(files.library.change(OWNER, y, PatchRequest(None, x))),
        )
        assert sorted(results) == ["ConflictError", "ok"], results
    await assert_invariants(files)


async def test_three_folders_rotated_at_once_never_make_a_cycle(files: Files) -> None:
    for _ in range(10):
        a, b, c = [await folder(files, name) for name in "abc"]
        results = await asyncio.gather(
            outcome(files.library.change(OWNER, a, PatchRequest(None, b))),
            outcome(files.library.change(OWNER, b, PatchRequest(None, c))),
            outcome(files.library.change(OWNER, c, PatchRequest(None, a))),
        )
        assert results.count("ok") == 2 and results.count("ConflictError") == 1, results
    await assert_invariants(files)


async def test_upload_racing_the_delete_of_its_folder_leaves_no_orphan(files: Files) -> None:
    outcomes = set()
    for trial in range(12):
        target = await folder(files, f"f{trial}")
        sub = await folder(files, "sub", target)
        upload, deletion = await asyncio.gather(
            outcome(upload_file(files, "late.txt", sub if trial % 2 else target)),
            outcome(files.library.delete(OWNER, target)),
        )
        assert deletion == "ok"
        assert upload in ("ok", "ValidationError")
        outcomes.add(upload)
        assert await files.store.children(OWNER.user_id, target) == []
        assert await files.store.children(OWNER.user_id, sub) == []
    await assert_invariants(files)
    assert sorted(p.name for p in files.folder.iterdir()) == []  # no bytes left behind either


async def test_move_racing_a_delete_of_the_target_leaves_no_orphan(files: Files) -> None:
    for _ in range(10):
        target = await folder(files, "target")
        inner = await folder(files, "inner", target)
        moved = await upload_file(files, "moved.txt", 0)
        move, deletion = await asyncio.gather(
            outcome(files.library.change(OWNER, moved["id"], PatchRequest(None, inner))),
            outcome(files.library.delete(OWNER, target)),
        )
        assert deletion == "ok" and move in ("ok", "ValidationError", "NotFoundError")
        survived = await files.store.get(moved["id"])
        assert (survived is None) == (move == "ok")  # moved in before the delete: deleted with it
    await assert_invariants(files)


async def test_deleting_a_cycle_left_by_an_older_version_ends(files: Files) -> None:
    a, b = new_id(), new_id()
    now = time.time()
    for this, parent in ((a, b), (b, a)):
        await files.store.insert(FileRecord(this, OWNER.user_id, this, "folder", False, parent, created_at=now))
    report = await files.checker.check(grace=0)
    assert [f.kind for f in report.violations] == ["cycle"]
    async with asyncio.timeout(5):
        await files.library.delete(OWNER, a)
    assert await files.store.get(a) is None and await files.store.get(b) is None
    await assert_invariants(files)


async def test_a_delete_cut_short_after_its_first_mark_is_finished_by_recovery(files: Files) -> None:
    top = await folder(files, "top")
    mid = await folder(files, "mid", top)
    leaf = await upload_file(files, "leaf.txt", mid)
    await files.store.mark_deleted([top], time.time())  # what a crash right after the first write leaves
    assert await files.store.get(top) is None
    assert [f.kind for f in (await files.checker.check(grace=0)).violations] == ["orphan"]  # mid, for now
    assert await files.library.purge_pending() == 3
    for record_id in (top, mid, leaf["id"]):
        assert await files.store.get(record_id) is None
    assert list(files.folder.iterdir()) == []
    await assert_invariants(files)


async def test_a_folder_under_a_folder_being_deleted_cannot_be_a_move_target(files: Files) -> None:
    top = await folder(files, "top")
    inner = await folder(files, "inner", top)
    other = await upload_file(files, "other.txt", 0)
    await files.store.mark_deleted([top], time.time())  # inner is not reached yet
    result = await outcome(files.library.change(OWNER, other["id"], PatchRequest(None, inner)))
    assert result == "ValidationError"


async def test_the_tree_lease_excludes_and_expires(files: Files) -> None:
    short = type(files.leases)(files.leases._store, ttl=0.5, wait=0.2)
    order: list[str] = []

    async def hold(name: str, seconds: float) -> None:
        async with short.hold("owner"):
            order.append(f"{name} in")
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    await asyncio.gather(hold("a", 0.1), hold("b", 0.05))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    # A holder that died keeps nobody out longer than its lease.
    assert await files.leases._store.acquire("tree:dead", "ghost", time.time(), 0.3)
    started = time.monotonic()
    async with files.leases.hold("dead"):
        pass
    assert 0.1 < time.monotonic() - started < 5


async def test_stale_thumbnail_jobs_are_republished_a_bounded_number_of_times(files: Files) -> None:
    async def stage():  # type: ignore[no-untyped-def]
        return await files.library._blobs.write(image_bytes(20, 20))

    view = await files.library.upload(OWNER, UploadRequest("i.png", "image", 0, False, "x"), stage)
    published = [await files.library.republish_stale(older_than_seconds=-1) for _ in range(5)]
    assert published == [1, 1, 0, 0, 0]  # the upload's job and two more: three in all
    record = await files.store.get(view["id"])
    assert record is not None and record.thumbnail == "failed"
    async with files.jobs._conn.execute("SELECT COUNT(*) FROM jobs") as cursor:
        assert (await cursor.fetchone())[0] == 3


class BrokerDown:
    """A queue whose broker is away: each publish hangs for the whole publish timeout, then fails."""

    publish_timeout = 1.0

    def __init__(self) -> None:
        self.publishes = 0

    async def publish(self, queue: str, payload: Any) -> None:
        self.publishes += 1
        await asyncio.sleep(self.publish_timeout)
        raise ConnectionError("broker away")


async def replicas_reconcile_during_an_outage(files: Files, stale_after: float) -> FileRecord:
    """Three files replicas re-publish the pending job of one image (claims older than `stale_after`)
    while the broker is away: the first once the job is stale, each next one while the publishes before
    it are in flight. Then the record as they leave it."""

    async def stage():  # type: ignore[no-untyped-def]
        return await files.library._blobs.write(image_bytes(20, 20))

    view = await files.library.upload(OWNER, UploadRequest("i.png", "image", 0, False, "x"), stage)
    broker = BrokerDown()
    replicas = [Library(files.store, files.library._blobs, broker, files.leases) for _ in range(3)]  # type: ignore[arg-type]

    async def stale() -> bool:
        return bool(await files.store.stale_thumbnails(time.time() - stale_after, 1))

    await eventually(stale)
    rounds: list[asyncio.Task[int]] = []
    for replica in replicas:
        before = broker.publishes
        rounds.append(asyncio.create_task(replica.republish_stale(stale_after)))

        async def claimed_or_over(this: asyncio.Task[int] = rounds[-1], before: int = before) -> bool:
            return this.done() or broker.publishes > before

        await eventually(claimed_or_over)
    await asyncio.gather(*rounds)
    record = await files.store.get(view["id"])
    assert record is not None
    return record


async def test_replicas_retrying_during_an_outage_do_not_stack_claims(files: Files) -> None:
    # A claim lasts at least twice the publish timeout: a job whose publish is in flight is not claimed
    # again, the failure puts the count back, and the image stays pending for when the broker returns.
    stale_after = claim_lifetime(0.0, BrokerDown.publish_timeout)
    assert stale_after == 2 * BrokerDown.publish_timeout
    record = await replicas_reconcile_during_an_outage(files, stale_after)
    assert (record.thumbnail, record.thumbnail_requests) == ("pending", 1)


async def test_claims_shorter_than_a_publish_stack_up(files: Files) -> None:
    # What the rule prevents, the configured age taken as is: the claims made while publishes are in
    # flight all count, and the image is failed within the outage.
    record = await replicas_reconcile_during_an_outage(files, 0.0)
    assert record.thumbnail == "failed"


async def test_a_download_whose_bytes_differ_in_size_fails_loudly(files: Files) -> None:
    view = await upload_file(files, "a.txt", 0, b"0123456789")
    record = await files.store.get(view["id"])
    assert record is not None and record.local_path
    Path(record.local_path).write_bytes(b"01234")
    try:
        await files.library.download(OWNER, view["id"], None)
        raise AssertionError("served a truncated blob")
    except DomainError as exc:
        assert exc.message == "Stored content does not match its record"
        assert not isinstance(exc, NotFoundError | ValidationError)
    report = await files.checker.check(grace=0)
    assert [f.kind for f in report.violations] == ["size-mismatch"]
    assert hashlib.sha256(b"0123456789").hexdigest() == record.sha256
