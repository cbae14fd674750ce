"""Moving the volume's files into the bucket: bytes and thumbnails sent and checked, records switched by
compare-and-set, downloads unbroken, a second run with nothing to do, damaged bytes and pending images left
on the volume, a record deleted meanwhile not resurrected."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.files.blobs import BlobStorage
from services.files.move_to_s3 import Mover
from services.files.uploads import UploadRequest
from shared.objects import ObjectStore
from tests.files.conftest import Files
from tests.files.test_tree import OWNER, folder, upload_file
from tests.support.engines import own_bucket
from tests.support.images import image_bytes

pytestmark = pytest.mark.engines


@pytest.fixture
async def objects() -> AsyncIterator[ObjectStore]:
    async with own_bucket("fm-move") as store:
        yield store


async def image_with_thumbnails(files: Files, name: str) -> str:
    async def stage():  # type: ignore[no-untyped-def]
        return await files.library._blobs.write(image_bytes(40, 20))

    view = await files.library.upload(OWNER, UploadRequest(name, "image", 0, False, "x"), stage)
    record = await files.store.get(view["id"])
    assert record is not None and record.local_path is not None
    for width in (500, 250, 100):
        Path(f"{record.local_path}_{width}").write_bytes(f"thumbnail {width}".encode())
    assert await files.store.set_thumbnail(record.id, OWNER.user_id, "ready")
    return record.id


async def test_every_file_moves_with_its_thumbnails_and_reads_the_same(files: Files, objects: ObjectStore) -> None:
    docs = await folder(files, "docs")
    contents = {name: os.urandom(size) for name, size in (("a.bin", 10), ("b.bin", 9_000_001), ("c.bin", 0))}
    ids = {name: (await upload_file(files, name, docs, data))["id"] for name, data in contents.items()}
    picture = await image_with_thumbnails(files, "p.png")
    volume_paths = {r.id: r.local_path for r in [await files.store.get(i) for i in [*ids.values(), picture]] if r}

    report = await Mover(files.store, BlobStorage(files.folder, objects)).run(verify=True, remove_local=True)
    assert (report.moved, report.left) == (4, [])
    assert report.moved_bytes == sum(len(c) for c in contents.values()) + len(image_bytes(40, 20))

    on_s3 = BlobStorage(files.folder, objects)  # what the files service reads with, S3 configured
    for name, file_id in ids.items():
        record = await files.store.get(file_id)
        assert record is not None and record.local_path is not None
        key = objects.key(record.local_path)
        assert key == os.path.basename(str(volume_paths[file_id]))  # the same name, in the bucket
        assert await on_s3.digest(record.local_path) == hashlib.sha256(contents[name]).hexdigest()
    image = await files.store.get(picture)
    assert image is not None and image.local_path is not None
    image_key = str(objects.key(image.local_path))
    for width in (500, 250, 100):
        got = b"".join([c async for c in objects.read(f"{image_key}_{width}")])
        assert got == f"thumbnail {width}".encode()
    assert list(files.folder.iterdir()) == []  # --remove-local

    again = await Mover(files.store, on_s3).run()
    assert (again.moved, again.left) == (0, [])  # resumable: what is done is not done twice


async def test_bytes_that_no_longer_match_their_record_stay_and_are_reported(
    files: Files, objects: ObjectStore
) -> None:
    view = await upload_file(files, "rotten.txt", 0, b"original")
    record = await files.store.get(view["id"])
    assert record is not None and record.local_path is not None
    Path(record.local_path).write_bytes(b"0riginal")
    report = await Mover(files.store, BlobStorage(files.folder, objects)).run()
    assert report.moved == 0 and "no longer hash to the recorded SHA-256" in report.left[0]
    assert (await files.store.get(view["id"])).local_path == record.local_path  # type: ignore[union-attr]
    listed = await objects.client.list_objects_v2(Bucket=objects.settings.bucket)
    assert listed.get("Contents", []) == []  # what was sent is taken back


async def test_an_image_whose_thumbnails_are_pending_waits_for_a_later_run(files: Files, objects: ObjectStore) -> None:
    async def stage():  # type: ignore[no-untyped-def]
        return await files.library._blobs.write(image_bytes(40, 20))

    view = await files.library.upload(OWNER, UploadRequest("new.png", "image", 0, False, "x"), stage)
    report = await Mover(files.store, BlobStorage(files.folder, objects)).run()
    assert report.moved == 0 and "still being made" in report.left[0]
    assert not str((await files.store.get(view["id"])).local_path).startswith("s3://")  # type: ignore[union-attr]


async def test_the_switch_is_a_compare_and_set_a_delete_that_came_first_wins(files: Files) -> None:
    view = await upload_file(files, "gone.txt", 0, b"bye")
    record = await files.store.get(view["id"])
    assert record is not None and record.local_path is not None
    assert not await files.store.relocate(record.id, "/elsewhere", "s3://b/k")  # not its path any more
    await files.library.delete(OWNER, view["id"])
    assert not await files.store.relocate(record.id, record.local_path, "s3://b/k")  # deleted: stays deleted
    assert await files.store.get(view["id"]) is None


async def test_the_command_moves_a_deployment_and_reports(files: Files, objects: ObjectStore, tmp_path: Path) -> None:
    """`python -m services.files.move_to_s3` as an operator runs it, on the deployment's own settings."""
    import asyncio
    import subprocess
    import sys

    from tests.support.stack import ROOT

    view = await upload_file(files, "kept.txt", 0, b"kept bytes")
    env = {
        **os.environ,
        "FOLDER_PATH": str(files.folder),
        "S3_ENDPOINT": str(objects.settings.endpoint),
        "INTERNAL_SECRET": "s" * 40,
    }
    mongo = getattr(files.store, "_files", None)
    if mongo is not None:  # the engine set: the fixture's database
        env["DB_DATABASE"] = mongo.database.name
    else:
        env["DATA_DIR"] = str(tmp_path)
        for name in ("MONGO_URL", "DB_HOST", "DB_PORT", "DB_DATABASE"):
            env.pop(name, None)

    def move(*args: str, bucket: str | None = objects.settings.bucket) -> subprocess.CompletedProcess[str]:
        run_env = {**env, "S3_BUCKET": bucket or ""}
        return subprocess.run(
            [sys.executable, "-m", "services.files.move_to_s3", *args],
            cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    refused = await asyncio.to_thread(move, bucket=None)
    assert refused.returncode == 2 and "S3_BUCKET is not set" in refused.stderr
    done = await asyncio.to_thread(move, "--verify", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "moved 1 record(s), 10 byte(s); left on the volume: 0" in done.stdout
    record = await files.store.get(view["id"])
    assert record is not None and str(record.local_path).startswith(f"s3://{objects.settings.bucket}/")
