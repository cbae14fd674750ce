"""Rendering: sizes, formats, orientation, draft decoding, and refusal of what must not be decoded."""

import io
from pathlib import Path

import pytest
from PIL import Image

from services.thumbnailer import images
from services.thumbnailer.images import UnsupportedImageError, render_thumbnails, thumbnail_size
from tests.support.images import image_bytes


def write(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "source"
    path.write_bytes(content)
    return str(path)


def test_thumbnail_size_rounds_like_the_contract() -> None:
    assert thumbnail_size(471, 512, 100) == (100, 109)
    assert thumbnail_size(471, 512, 250) == (250, 272)
    assert thumbnail_size(10, 5, 500) == (500, 250)  # up-scaled
    assert thumbnail_size(5000, 1, 100) == (100, 1)  # never zero


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_each_allowed_format_keeps_its_format(tmp_path: Path, fmt: str) -> None:
    source = write(tmp_path, image_bytes(640, 480, fmt))
    written = render_thumbnails(source, 50_000_000)
    assert sorted(written) == [100, 250, 500]
    for width, path in written.items():
        assert path == f"{source}_{width}"
        with Image.open(path) as thumb:
            assert thumb.format == fmt and thumb.size == (width, round(480 * width / 640))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source", "source_100", "source_250", "source_500"]


@pytest.mark.parametrize(("orientation", "size"), [(1, (250, 125)), (3, (250, 125)), (6, (250, 500)), (8, (250, 500))])
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int, size: tuple[int, int]) -> None:
    source = write(tmp_path, image_bytes(800, 400, "JPEG", orientation=orientation))
    with Image.open(render_thumbnails(source, 50_000_000)[250]) as thumb:
        assert thumb.size == size


def test_large_jpeg_is_decoded_at_reduced_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path, image_bytes(4000, 3000, "JPEG"))
    decoded: list[tuple[int, int]] = []
    original = images.ImageOps.exif_transpose

    def spy(image: Image.Image, **kwargs: object) -> Image.Image:
        decoded.append(image.size)
        return original(image, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images.ImageOps, "exif_transpose", spy)
    render_thumbnails(source, 50_000_000)
    assert decoded == [(500, 375)]  # libjpeg's 1/8 scale: the smallest still ≥ 500 wide


def test_modes_that_a_format_cannot_save_are_converted(tmp_path: Path) -> None:
    cmyk = io.BytesIO()
    Image.new("CMYK", (300, 200)).save(cmyk, format="JPEG")
    with Image.open(render_thumbnails(write(tmp_path, cmyk.getvalue()), 50_000_000)[100]) as thumb:
        assert thumb.mode == "RGB"
    palette = io.BytesIO()
    Image.new("P", (300, 200)).save(palette, format="PNG")
    (tmp_path / "source").write_bytes(palette.getvalue())
    with Image.open(render_thumbnails(str(tmp_path / "source"), 50_000_000)[100]) as thumb:
        assert thumb.size == (100, 67)


def test_pixel_cap_refuses_before_decoding(tmp_path: Path) -> None:
    source = write(tmp_path, image_bytes(3000, 3000, "PNG"))
    with pytest.raises(UnsupportedImageError, match="pixel cap"):
        render_thumbnails(source, 1_000_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


@pytest.mark.parametrize(
    "content",
    [
        b"not an image",
        image_bytes(64, 64, "TIFF"),  # a real image, but not an allowed format
        image_bytes(64, 64, "JPEG")[:200],  # truncated
        b"%!PS-Adobe-3.0 EPSF-3.0\n",
    ],
)
def test_refused_or_broken_inputs_raise_and_write_nothing(tmp_path: Path, content: bytes) -> None:
    source = write(tmp_path, content)
    with pytest.raises(UnsupportedImageError):
        render_thumbnails(source, 50_000_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]
