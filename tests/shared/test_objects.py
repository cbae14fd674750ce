"""The S3 adapter against a real S3 server (MinIO from `make services`): streamed multipart uploads that
show nothing until complete, hashes and sizes on the way, aborts that leave no parts, ranged reads,
deletes, and the sweep of abandoned uploads."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import botocore.exceptions
import pytest

from shared.objects import PART_BYTES, ObjectStore, S3Settings, failure_status
from tests.support.engines import own_bucket, s3_settings

pytestmark = pytest.mark.engines


@pytest.fixture
async def store() -> AsyncIterator[ObjectStore]:
    """A bucket of this test's own, emptied and removed afterwards."""
    async with own_bucket("fm-test") as opened:
        yield opened


async def read_all(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def uploads_of(store: ObjectStore, key: str) -> list[str]:
    listed = await store.client.list_multipart_uploads(Bucket=store.settings.bucket)
    return [u["UploadId"] for u in listed.get("Uploads", []) if u["Key"] == key]


async def test_a_small_file_is_one_object_with_its_size_and_hash(store: ObjectStore) -> None:
    stored = await store.write(b"hello bytes")
    key = store.key(stored.uri)
    assert key is not None and stored.uri == f"s3://{store.settings.bucket}/{key}"
    assert (stored.size, stored.sha256) == (11, hashlib.sha256(b"hello bytes").hexdigest())
    assert await read_all(store, key) == b"hello bytes"
    assert await store.size(key) == 11


async def test_an_empty_file_is_an_empty_object(store: ObjectStore) -> None:
    stored = await store.write(b"")
    key = store.key(stored.uri)
    assert key is not None and await store.size(key) == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()


async def test_a_large_stream_is_uploaded_in_parts_and_shows_only_once_complete(store: ObjectStore) -> None:
    content = os.urandom(2 * PART_BYTES + 12_345)
    writer = store.writer()  # nothing sent yet: a small file is one PutObject at commit
    for start in range(0, len(content), 1_000_000):
        await writer.write(content[start : start + 1_000_000])
    assert await uploads_of(store, writer.key)  # parts sent already
    assert await store.size(writer.key) is None  # but nothing to see
    stored = await writer.commit()
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert await read_all(store, writer.key) == content
    assert await read_all(store, writer.key, 5, 9) == content[5:10]
    assert await read_all(store, writer.key, PART_BYTES - 3) == content[PART_BYTES - 3 :]
    assert await uploads_of(store, writer.key) == []


async def test_an_aborted_upload_leaves_no_object_and_no_parts(store: ObjectStore) -> None:
    writer = store.writer()  # nothing sent yet: a small file is one PutObject at commit
    for _ in range(3):
        await writer.write(os.urandom(PART_BYTES))
    assert await uploads_of(store, writer.key)
    await writer.abort()
    assert await uploads_of(store, writer.key) == []
    assert await store.size(writer.key) is None


async def test_memory_stays_bounded_whatever_the_size(store: ObjectStore) -> None:
    """Two parts at most are held (one filling, one sending), plus the client's own buffers."""
    chunk = os.urandom(1024 * 1024)
    writer = store.writer()  # nothing sent yet: a small file is one PutObject at commit
    tracemalloc.start()
    try:
        for _ in range(128):
            await writer.write(chunk)
        await writer.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert await store.size(writer.key) == 128 * len(chunk)
    assert peak < 6 * PART_BYTES, f"peak {peak / 2**20:.0f} MiB for a 128 MiB upload"


async def test_remove_deletes_objects_and_ignores_absent_ones(store: ObjectStore) -> None:
    first, second = await store.write(b"1"), await store.write(b"2")
    keys = [store.key(first.uri), store.key(second.uri)]
    assert None not in keys
    await store.remove([str(k) for k in keys] + ["never-written"])
    assert [await store.size(str(k)) for k in keys] == [None, None]


async def test_the_sweep_aborts_uploads_older_than_its_bound_only(store: ObjectStore) -> None:
    created = await store.client.create_multipart_upload(Bucket=store.settings.bucket, Key="left-by-a-dead-process")
    assert await store.abandoned_uploads(timedelta(hours=1)) == 0  # too young: maybe still being written
    assert await uploads_of(store, "left-by-a-dead-process") == [created["UploadId"]]
    assert await store.abandoned_uploads(timedelta(0)) == 1
    assert await uploads_of(store, "left-by-a-dead-process") == []


async def test_uris_of_other_buckets_and_paths_are_not_ours(store: ObjectStore) -> None:
    bucket = store.settings.bucket
    assert store.key(f"s3://{bucket}/abc") == "abc"
    assert store.key(f"s3://{bucket}-other/abc") is None
    assert store.key(f"s3://{bucket}/") is None
    assert store.key("/tmp/files_manager/abc") is None


async def test_an_unreachable_server_is_an_outage_and_a_missing_bucket_is_not() -> None:
    closed = S3Settings(bucket="fm-nowhere", endpoint="http://127.0.0.1:9")
    async with ObjectStore(closed) as nowhere:
        with pytest.raises(botocore.exceptions.BotoCoreError) as caught:
            await nowhere.client.head_object(Bucket="fm-nowhere", Key="x")
        assert failure_status(caught.value) == 503
        assert not await nowhere.alive()
    async with ObjectStore(
        S3Settings(bucket=f"fm-absent-{uuid.uuid4().hex[:8]}", endpoint=s3_settings().endpoint)
    ) as s:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            await s.client.get_object(Bucket=s.settings.bucket, Key="x")
        assert failure_status(refused.value) is None  # our bug (a bucket never made), a 500 with its traceback


async def test_an_empty_object_reads_as_nothing(store: ObjectStore) -> None:
    stored = await store.write(b"")
    assert await read_all(store, str(store.key(stored.uri))) == b""


async def test_sweeps_racing_over_one_abandoned_upload_all_succeed_and_leave_nothing(store: ObjectStore) -> None:
    """Every files replica sweeps: one that comes second may find the upload gone (NoSuchUpload), which is
    no error (a server may also accept the second abort); the upload is gone either way."""
    import asyncio

    await store.client.create_multipart_upload(Bucket=store.settings.bucket, Key="abandoned")
    counts = await asyncio.gather(*(store.abandoned_uploads(timedelta(0)) for _ in range(4)))
    assert 1 <= sum(counts) <= 4 and set(counts) <= {0, 1}
    assert await uploads_of(store, "abandoned") == []


async def test_downloading_a_missing_object_is_file_not_found(store: ObjectStore, tmp_path: Path) -> None:
    """What the thumbnailer sees when an image was deleted before its job ran: a job to drop, not retry."""
    with pytest.raises(FileNotFoundError):
        await store.download_file("never-written", str(tmp_path / "source"))
    stored = await store.write(b"image bytes")
    await store.download_file(str(store.key(stored.uri)), str(tmp_path / "source"))
    assert (tmp_path / "source").read_bytes() == b"image bytes"


async def test_readiness_makes_a_missing_bucket() -> None:
    """A service that started before its S3 server could make buckets becomes ready once it can."""
    from tests.support.engines import own_bucket

    async with own_bucket("fm-ready") as store:
        await store.client.delete_bucket(Bucket=store.settings.bucket)
        assert not await store.alive()
        assert await store.ping()
        assert await store.alive()
