"""The fileQueue job against the real files service, in process: the contract's checks in their order,
and each outcome recorded by the files service (the thumbnailer owns no table)."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.thumbnailer.files_client import FilesClient
from services.thumbnailer.worker import ThumbnailWorker
from shared.internal import InternalClient, ThumbnailOutcome
from shared.jobs import JobRejected
from tests.support.images import image_bytes
from tests.support.inprocess import SECRET, Signed

OWNER = "5f1e7cda04a394508232559d"
STRANGER = "5f1e7cda04a394508232559e"
MAX_PIXELS = 50_000_000


@pytest.fixture
async def files_client(files_service: Signed) -> AsyncIterator[FilesClient]:
    async with aiohttp.ClientSession() as session:
        base = str(files_service.client.make_url(""))
        yield FilesClient(InternalClient(session, base, SECRET.encode()))


async def upload_image(files: Signed, data: bytes) -> dict[str, Any]:
    return dict(await files.upload(OWNER, "img.png", "image", data))


async def thumbnail_state(files: Signed, file_id: str) -> str | None:
    status, view, _ = await files.call("GET", f"/files/{file_id}", OWNER)
    return view.get("thumbnail") if status == 200 else None


def siblings(local_path: str) -> list[str]:
    """Every name beside the blob: the blob itself, its thumbnails, any temp file."""
    return sorted(p.name for p in Path(local_path).parent.iterdir())


async def local_path(files: Signed, file_id: str) -> str:
    status, source, _ = await files.call("GET", f"/internal/files/{file_id}/source", OWNER)
    assert status == 200, source
    return str(source["localPath"])


async def test_contract_errors_in_order(files_service: Signed, files_client: FilesClient) -> None:
    view = await upload_image(files_service, image_bytes(50, 40))
    worker = ThumbnailWorker(files_client, MAX_PIXELS)
    for payload, error in [
        ({}, "Missing fileId"),
        ({"userId": OWNER}, "Missing fileId"),
        ({"fileId": view["id"]}, "Missing userId"),
        ({"fileId": view["id"], "userId": STRANGER}, "File not found"),  # another owner's image
        ({"fileId": "nope", "userId": OWNER}, "File not found"),
        ({"fileId": view["id"], "userId": "../x"}, "File not found"),
    ]:
        with pytest.raises(JobRejected, match=f"^{error}$"):
            await worker.handle(payload)
    assert await thumbnail_state(files_service, view["id"]) == "pending"


async def test_success_is_recorded_ready_by_the_files_service(files_service: Signed, files_client: FilesClient) -> None:
    view = await upload_image(files_service, image_bytes(50, 40))
    await ThumbnailWorker(files_client, MAX_PIXELS).handle({"fileId": view["id"], "userId": OWNER})
    assert await thumbnail_state(files_service, view["id"]) == "ready"
    status, body, response = await files_service.call("GET", f"/files/{view['id']}/data?size=100", OWNER)
    assert status == 200 and response.content_type == "image/png" and len(body) > 0


async def test_missing_bytes_are_file_not_found(files_service: Signed, files_client: FilesClient) -> None:
    view = await upload_image(files_service, image_bytes(50, 40))
    Path(await local_path(files_service, view["id"])).unlink()
    with pytest.raises(JobRejected, match="^File not found$"):
        await ThumbnailWorker(files_client, MAX_PIXELS).handle({"fileId": view["id"], "userId": OWNER})


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"junk", "cannot make thumbnails"),
        (image_bytes(20, 2_500_000), "would need a 500x"),  # a strip whose thumbnail would be huge
        (image_bytes(1, 20_000), "would need a 500x"),
    ],
)
async def test_an_image_no_retry_can_fix_is_recorded_failed(
    files_service: Signed, files_client: FilesClient, data: bytes, error: str
) -> None:
    view = await upload_image(files_service, data)
    with pytest.raises(JobRejected, match=error):
        await ThumbnailWorker(files_client, MAX_PIXELS).handle({"fileId": view["id"], "userId": OWNER})
    assert await thumbnail_state(files_service, view["id"]) == "failed"


async def test_running_out_of_memory_is_recorded_failed(
    files_service: Signed, files_client: FilesClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = await upload_image(files_service, image_bytes(60, 40))

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError()

    monkeypatch.setattr("PIL.Image.Image.load", exhausted)
    with pytest.raises(JobRejected, match="out of memory"):
        await ThumbnailWorker(files_client, MAX_PIXELS).handle({"fileId": view["id"], "userId": OWNER})
    assert await thumbnail_state(files_service, view["id"]) == "failed"


async def test_a_full_disk_is_retried_not_a_failed_image(
    files_service: Signed, files_client: FilesClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = await upload_image(files_service, image_bytes(60, 40))
    path = await local_path(files_service, view["id"])

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("services.thumbnailer.images.os.fsync", full_disk)
    with pytest.raises(OSError) as raised:
        await ThumbnailWorker(files_client, MAX_PIXELS).handle({"fileId": view["id"], "userId": OWNER})
    assert not isinstance(raised.value, JobRejected) and raised.value.errno == errno.ENOSPC
    assert await thumbnail_state(files_service, view["id"]) == "pending"  # the queue retries it
    assert siblings(path) == [Path(path).name]  # no temp file left


class DeletedWhileRendering(FilesClient):
    """The image is deleted, through the files service's own route, after its thumbnails are written
    and before their outcome is reported: the interleaving that could leave thumbnails of nothing."""

    def __init__(self, files: Signed, client: FilesClient) -> None:
        self.__dict__.update(client.__dict__)
        self._files = files

    async def report(self, file_id: str, user_id: str, outcome: ThumbnailOutcome) -> bool:
        status, _, _ = await self._files.call("DELETE", f"/files/{file_id}", user_id)
        assert status == 204
        return await super().report(file_id, user_id, outcome)


async def test_a_job_for_an_image_deleted_meanwhile_leaves_no_thumbnail(
    files_service: Signed, files_client: FilesClient
) -> None:
    view = await upload_image(files_service, image_bytes(60, 40))
    folder = Path(await local_path(files_service, view["id"])).parent
    racing = DeletedWhileRendering(files_service, files_client)
    with pytest.raises(JobRejected, match="^File not found$"):
        await ThumbnailWorker(racing, MAX_PIXELS).handle({"fileId": view["id"], "userId": OWNER})
    assert sorted(p.name for p in folder.iterdir()) == []


async def test_the_files_service_down_is_a_retry(files_service: Signed) -> None:
    async with aiohttp.ClientSession() as session:
        gone = FilesClient(InternalClient(session, "http://127.0.0.1:9", SECRET.encode()))
        with pytest.raises(Exception) as raised:
            await ThumbnailWorker(gone, MAX_PIXELS).handle({"fileId": "5f1e879ec7ba06511e683b22", "userId": OWNER})
    assert not isinstance(raised.value, JobRejected)
