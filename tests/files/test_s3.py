"""The files service with its bytes in S3 (a real MinIO): uploads become objects named by URI and leave
nothing on the volume, downloads stream with Range, HEAD and ETag as from the volume or redirect to a
presigned URL, deletes remove the objects, and an unreachable S3 is a 503 that changes nothing."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from shared.objects import ObjectStore
from tests.support.engines import own_bucket
from tests.support.inprocess import Signed

pytestmark = pytest.mark.engines

OWNER = "5f1e7cda04a394508232559d"


@pytest.fixture
async def bucket(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ObjectStore]:
    """A bucket of the test's own, named in the environment the service's factory reads; emptied after."""
    async with own_bucket("fm-files") as store:
        monkeypatch.setenv("S3_BUCKET", store.settings.bucket)
        monkeypatch.setenv("S3_ENDPOINT", str(store.settings.endpoint))
        yield store


@pytest.fixture
async def s3_files(aiohttp_client: AiohttpClient, embedded: Path, bucket: ObjectStore) -> Signed:
    from services.files.app import create_app

    return Signed(await aiohttp_client(create_app()))


async def keys(store: ObjectStore) -> set[str]:
    listed = await store.client.list_objects_v2(Bucket=store.settings.bucket)
    return {item["Key"] for item in listed.get("Contents", [])}


async def test_an_upload_is_an_object_named_by_uri_and_nothing_on_the_volume(
    s3_files: Signed, bucket: ObjectStore, embedded: Path
) -> None:
    view = await s3_files.upload(OWNER, "notes.txt", data=b"hello s3")
    assert view["size"] == 8 and view["sha256"] == hashlib.sha256(b"hello s3").hexdigest()
    [key] = await keys(bucket)
    status, source, _ = await s3_files.call("GET", f"/internal/files/{view['id']}/source", OWNER)
    assert status == 200 and source["localPath"] == f"s3://{bucket.settings.bucket}/{key}"
    files = embedded / "files"
    assert not files.exists() or list(files.iterdir()) == []
    assert b"".join([chunk async for chunk in bucket.read(key)]) == b"hello s3"


async def test_downloads_stream_with_range_head_and_etag(s3_files: Signed) -> None:
    content = os.urandom(600_017)
    view = await s3_files.upload(OWNER, "blob.bin", data=content)
    path = f"/files/{view['id']}/data"
    status, body, response = await s3_files.call("GET", path, OWNER)
    assert (status, body == content) == (200, True)
    assert response.headers["ETag"] == f'"{view["sha256"]}"' and response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    status, body, response = await s3_files.call("GET", path, OWNER, headers={"Range": "bytes=10-19"})
    assert (status, body, response.headers["Content-Range"]) == (206, content[10:20], f"bytes 10-19/{len(content)}")
    status, body, _ = await s3_files.call("GET", path, OWNER, headers={"Range": "bytes=-5"})
    assert (status, body) == (206, content[-5:])
    status, _, response = await s3_files.call("GET", path, OWNER, headers={"Range": f"bytes={len(content)}-"})
    assert (status, response.headers["Content-Range"]) == (416, f"bytes */{len(content)}")
    status, body, response = await s3_files.call("HEAD", path, OWNER)
    assert (status, body, response.headers["Content-Length"]) == (200, b"", str(len(content)))
    status, _, _ = await s3_files.call("GET", path, OWNER, headers={"If-None-Match": f'"{view["sha256"]}"'})
    assert status == 304
    last_modified = response.headers["Last-Modified"]
    status, _, _ = await s3_files.call("GET", path, OWNER, headers={"If-Modified-Since": last_modified})
    assert status == 304
    past = "Mon, 01 Jan 2001 00:00:00 GMT"
    status, body, _ = await s3_files.call("GET", path, OWNER, headers={"If-Unmodified-Since": past})
    assert (status, body) == (412, {"error": "Precondition failed"})
    stale = {"Range": "bytes=0-0", "If-Range": '"not-the-hash"'}
    status, body, _ = await s3_files.call("GET", path, OWNER, headers=stale)
    assert (status, len(body)) == (200, len(content))  # If-Range that does not match: the whole file


async def test_an_empty_file_downloads_empty(s3_files: Signed) -> None:
    status, view, _ = await s3_files.call("POST", "/files", OWNER, json={"name": "e.txt", "type": "file", "data": "  "})
    assert status == 201 and view["size"] == 0  # base64 of nothing, as spaces: an empty file
    status, body, _ = await s3_files.call("GET", f"/files/{view['id']}/data", OWNER)
    assert (status, body) == (200, b"")


async def test_a_streamed_multipart_upload_goes_to_the_bucket_in_parts(s3_files: Signed, bucket: ObjectStore) -> None:
    content = os.urandom(20 * 1024 * 1024 + 3)
    form = aiohttp.FormData()
    form.add_field("name", "big.bin")
    form.add_field("type", "file")
    form.add_field("data", io.BytesIO(content), filename="big.bin", content_type="application/octet-stream")
    status, view, _ = await s3_files.call("POST", "/files", OWNER, data=form)
    assert status == 201, view
    assert (view["size"], view["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    [key] = await keys(bucket)
    assert await bucket.size(key) == len(content)
    uploads = await bucket.client.list_multipart_uploads(Bucket=bucket.settings.bucket)
    assert uploads.get("Uploads", []) == []


async def test_delete_removes_the_object_and_its_thumbnails(s3_files: Signed, bucket: ObjectStore) -> None:
    view = await s3_files.upload(OWNER, "gone.txt", data=b"bye")
    [key] = await keys(bucket)
    for width in (500, 250, 100):  # as the thumbnailer writes them
        await bucket.write(b"thumb", key=f"{key}_{width}")
    status, _, _ = await s3_files.call("DELETE", f"/files/{view['id']}", OWNER)
    assert status == 204
    assert await keys(bucket) == set()


async def test_redirect_mode_answers_a_presigned_url_with_the_files_headers(
    aiohttp_client: AiohttpClient, embedded: Path, bucket: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.files.app import create_app

    monkeypatch.setenv("S3_DOWNLOADS", "redirect")
    files = Signed(await aiohttp_client(create_app()))
    view = await files.upload(OWNER, "report.pdf", data=b"%PDF-1.4 pretend")
    status, _, response = await files.call("GET", f"/files/{view['id']}/data", OWNER, allow_redirects=False)
    assert status == 302 and response.headers["Cache-Control"] == "private, no-store"
    async with aiohttp.ClientSession() as session, session.get(response.headers["Location"]) as fetched:
        assert fetched.status == 200 and await fetched.read() == b"%PDF-1.4 pretend"
        assert fetched.headers["Content-Type"] == "application/pdf"
        assert fetched.headers["Content-Disposition"].startswith("inline; filename=")


async def test_an_unreachable_s3_is_a_503_and_changes_nothing(
    aiohttp_client: AiohttpClient, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.files.app import create_app

    monkeypatch.setenv("S3_BUCKET", "fm-nowhere")
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9")
    files = Signed(await aiohttp_client(create_app()))
    status, body, _ = await files.call(
        "POST", "/files", OWNER, json={"name": "a.txt", "type": "file", "data": "aGVsbG8="}
    )
    assert (status, body) == (503, {"error": "Service unavailable"})
    status, listing, _ = await files.call("GET", "/files", OWNER)
    assert (status, listing) == (200, [])
    status, health, _ = await files.call("GET", "/readyz")
    assert status == 503 and health["checks"]["objects"] is False


async def test_the_files_check_finds_and_repairs_what_is_wrong_in_the_bucket(
    s3_files: Signed, bucket: ObjectStore
) -> None:
    from services.files.app import CHECKER_KEY

    checker = s3_files.client.app[CHECKER_KEY]
    kept = await s3_files.upload(OWNER, "kept.txt", data=b"twelve bytes")
    rotten = await s3_files.upload(OWNER, "rotten.txt", data=b"same length!")
    lost = await s3_files.upload(OWNER, "lost.txt", data=b"gone")
    key_of = {}
    for view in (kept, rotten, lost):
        _, source, _ = await s3_files.call("GET", f"/internal/files/{view['id']}/source", OWNER)
        key_of[view["id"]] = str(bucket.key(source["localPath"]))
    await bucket.write(b"SAME LENGTH!", key=key_of[rotten["id"]])  # bytes changed behind our back
    await bucket.remove([key_of[lost["id"]]])
    stray = await bucket.write(b"an upload whose record never came")

    report = await checker.check(grace=0, verify=True)
    found = {(finding.kind, finding.subject) for finding in report.violations}
    assert found == {
        ("bitrot", rotten["id"]),
        ("missing-blob", lost["id"]),
        ("unreferenced-blob", stray.uri),
    }
    assert (await checker.check(grace=3600)).of("unreferenced-blob") == []  # young: maybe an upload in flight
    repaired = await checker.repair(grace=0)
    assert f"removed unreferenced-blob {stray.uri}" in repaired.repairs
    assert await bucket.size(str(bucket.key(stray.uri))) is None
    assert await bucket.size(key_of[kept["id"]]) == 12
