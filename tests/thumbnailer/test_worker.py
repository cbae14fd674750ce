"""The fileQueue job's checks, in the contract's order (a fake Sources: this tests one function)."""

from pathlib import Path

import pytest

from services.thumbnailer.sources import Source
from services.thumbnailer.worker import ThumbnailWorker
from shared.jobs import JobRejected
from tests.support.images import image_bytes

FILE_ID = "5f1e879ec7ba06511e683b22"
USER_ID = "5f1e7cda04a394508232559d"


class FakeSources:
    def __init__(self, source: Source | None) -> None:
        self.source = source
        self.marks: list[tuple[str, str]] = []

    async def find(self, file_id: str, user_id: str) -> Source | None:
        return self.source if (file_id, user_id) == (FILE_ID, USER_ID) else None

    async def mark(self, file_id: str, state: str) -> None:
        self.marks.append((file_id, state))


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "Missing fileId"),
        ({"userId": USER_ID}, "Missing fileId"),
        ({"fileId": FILE_ID}, "Missing userId"),
        ({"fileId": FILE_ID, "userId": "5f1e7cda04a394508232559e"}, "File not found"),
        ({"fileId": "nope", "userId": USER_ID}, "File not found"),
    ],
)
async def test_contract_errors(payload: dict, error: str) -> None:
    worker = ThumbnailWorker(FakeSources(Source(FILE_ID, "/nowhere", "image")), 50_000_000)
    with pytest.raises(JobRejected, match=f"^{error}$"):
        await worker.handle(payload)


async def test_missing_bytes_are_file_not_found(tmp_path: Path) -> None:
    worker = ThumbnailWorker(FakeSources(Source(FILE_ID, str(tmp_path / "gone"), "image")), 50_000_000)
    with pytest.raises(JobRejected, match="^File not found$"):
        await worker.handle({"fileId": FILE_ID, "userId": USER_ID})


async def test_success_marks_ready_and_bad_image_marks_failed(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(image_bytes(50, 40))
    sources = FakeSources(Source(FILE_ID, str(good), "image"))
    await ThumbnailWorker(sources, 50_000_000).handle({"fileId": FILE_ID, "userId": USER_ID})
    assert sources.marks == [(FILE_ID, "ready")] and (tmp_path / "good_500").exists()
    bad = tmp_path / "bad"
    bad.write_bytes(b"junk")
    sources = FakeSources(Source(FILE_ID, str(bad), "image"))
    with pytest.raises(JobRejected):
        await ThumbnailWorker(sources, 50_000_000).handle({"fileId": FILE_ID, "userId": USER_ID})
    assert sources.marks == [(FILE_ID, "failed")]
