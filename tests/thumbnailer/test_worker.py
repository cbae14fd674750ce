"""The fileQueue job's checks, in the contract's order (a fake Sources: this tests one function)."""

import errno
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


class VanishingSources(FakeSources):
    """The image is deleted while its thumbnails render: found once, then gone."""

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.finds = 0

    async def find(self, file_id: str, user_id: str) -> Source | None:
        self.finds += 1
        return self.source if self.finds == 1 else None


async def test_a_job_for_an_image_deleted_meanwhile_leaves_no_thumbnail(tmp_path: Path) -> None:
    source = tmp_path / "img"
    source.write_bytes(image_bytes(60, 40))
    sources = VanishingSources(Source(FILE_ID, str(source), "image"))
    with pytest.raises(JobRejected, match="^File not found$"):
        await ThumbnailWorker(sources, 50_000_000).handle({"fileId": FILE_ID, "userId": USER_ID})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img"] and sources.marks == []


async def test_a_full_disk_is_retried_not_a_failed_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "img"
    source.write_bytes(image_bytes(60, 40))

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("services.thumbnailer.images.os.fsync", full_disk)
    sources = FakeSources(Source(FILE_ID, str(source), "image"))
    with pytest.raises(OSError) as raised:
        await ThumbnailWorker(sources, 50_000_000).handle({"fileId": FILE_ID, "userId": USER_ID})
    assert not isinstance(raised.value, JobRejected) and raised.value.errno == errno.ENOSPC
    assert sources.marks == []  # still pending: the queue retries it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img"]  # no temp file left


@pytest.mark.parametrize(("width", "height"), [(20, 2_500_000), (1, 20_000)])
async def test_a_thumbnail_too_large_to_make_is_a_permanent_failure(tmp_path: Path, width: int, height: int) -> None:
    source = tmp_path / "strip"
    source.write_bytes(image_bytes(width, height))
    sources = FakeSources(Source(FILE_ID, str(source), "image"))
    with pytest.raises(JobRejected, match="would need a 500x"):
        await ThumbnailWorker(sources, 50_000_000).handle({"fileId": FILE_ID, "userId": USER_ID})
    assert sources.marks == [(FILE_ID, "failed")]


async def test_running_out_of_memory_is_a_permanent_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "img"
    source.write_bytes(image_bytes(60, 40))

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError()

    monkeypatch.setattr("PIL.Image.Image.load", exhausted)
    sources = FakeSources(Source(FILE_ID, str(source), "image"))
    with pytest.raises(JobRejected, match="out of memory"):
        await ThumbnailWorker(sources, 50_000_000).handle({"fileId": FILE_ID, "userId": USER_ID})
    assert sources.marks == [(FILE_ID, "failed")]
