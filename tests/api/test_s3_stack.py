"""The four services with their bytes in S3 (a real MinIO), through the gateway: uploads, downloads with
Range, thumbnails made from the object and stored beside it, deletes, a presigned redirect; nothing is
written to the stack's files folder."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from shared.objects import ObjectStore, S3Settings
from tests.conftest import Api, extra_stack
from tests.support.engines import Backends, s3_settings
from tests.support.images import image_bytes
from tests.support.inprocess import eventually
from tests.support.stack import Stack

pytestmark = [pytest.mark.engines, pytest.mark.processes]  # a second stack, on S3

SIZES = (500, 250, 100)


@pytest.fixture(scope="module")
def bucket_settings() -> S3Settings:
    return S3Settings(bucket=f"fm-stack-{uuid.uuid4().hex[:12]}", endpoint=s3_settings().endpoint)


@pytest.fixture(scope="module")
def s3_stack(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory, bucket_settings: S3Settings
) -> Iterator[Stack]:
    env = {
        "S3_BUCKET": bucket_settings.bucket,
        "S3_ENDPOINT": str(bucket_settings.endpoint),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
    }
    yield from extra_stack(backends, tmp_path_factory, "s3", env)


@pytest.fixture
async def bucket(s3_stack: Stack, bucket_settings: S3Settings) -> AsyncIterator[ObjectStore]:
    async with ObjectStore(bucket_settings) as store:
        yield store


@pytest.fixture
def s3_api(http: aiohttp.ClientSession, s3_stack: Stack) -> Api:
    return Api(http, s3_stack.url)


async def keys(store: ObjectStore) -> set[str]:
    listed = await store.client.list_objects_v2(Bucket=store.settings.bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


async def test_files_and_thumbnails_live_in_the_bucket_and_leave_with_the_file(
    s3_api: Api, s3_stack: Stack, bucket: ObjectStore
) -> None:
    _, token = await s3_api.new_user()
    content = os.urandom(300_001)
    doc = await s3_api.upload(token, "data.bin", "file", content)
    image = await s3_api.upload(token, "photo.png", "image", image_bytes(640, 320))

    status, body, _ = await s3_api.call("GET", f"/files/{doc['id']}/data", token=token)
    assert status == 200 and hashlib.sha256(body).hexdigest() == doc["sha256"]
    status, body, _ = await s3_api.call("GET", f"/files/{doc['id']}/data", token=token, headers={"Range": "bytes=7-"})
    assert (status, body) == (206, content[7:])

    async def thumbnails() -> bool:
        for size in SIZES:
            status, _, _ = await s3_api.call("GET", f"/files/{image['id']}/data?size={size}", token=token)
            if status != 200:
                return False
        return True

    assert await eventually(thumbnails, timeout=30, interval=0.3)
    stored = await keys(bucket)
    originals = {key for key in stored if "_" not in key}
    assert len(originals) == 2
    assert {f"{key}_{size}" for key in originals for size in SIZES} & stored  # the image's three
    assert len(stored) == 2 + 3
    assert not s3_stack.folder.exists() or list(s3_stack.folder.iterdir()) == []

    for view in (doc, image):
        status, _, _ = await s3_api.call("DELETE", f"/files/{view['id']}", token=token)
        assert status == 204
    assert await keys(bucket) == set()
