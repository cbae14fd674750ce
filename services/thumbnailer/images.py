"""Thumbnail rendering with Pillow: allowlisted formats, a pixel cap, EXIF orientation, JPEG draft decoding.

Blocking; the worker runs it in a thread (Pillow releases the GIL while decoding and resampling).
"""

from __future__ import annotations

import contextlib
import os

from PIL import Image, ImageOps, UnidentifiedImageError

from shared import tempfiles
from shared.thumbnails import THUMBNAIL_WIDTHS

ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
# The largest thumbnail is 500 wide; a 1:32 strip is the tallest we make (a 20x2,500,000 PNG would ask for
# 500x62,500,000). Bounds the memory of one job whatever the input's aspect ratio.
MAX_OUTPUT_PIXELS = 500 * 16_000
_SWAPS_AXES = {5, 6, 7, 8}


class UnsupportedImageError(Exception):
    """The file is not an image we decode, is too large, or is corrupt: no retry can help."""


def thumbnail_size(width: int, height: int, target: int) -> tuple[int, int]:
    """Width `target`, height round(H * target / W): the contract's aspect rule (upscaling allowed)."""
    return target, max(1, round(height * target / width))


def render_thumbnails(source: str, max_pixels: int) -> dict[int, str]:
    """Raises UnsupportedImageError for what no retry can fix; an OSError with an errno (ENOSPC, EIO, a
    missing file) is the storage's, not the image's, and goes up as it is, to be retried."""
    try:
        with Image.open(source, formats=ALLOWED_FORMATS) as image:
            return _render(image, source, max_pixels)
    except OSError as exc:
        if exc.errno is not None:
            raise
        raise UnsupportedImageError(f"cannot make thumbnails: {exc}") from exc  # Pillow's decoder errors
    except MemoryError as exc:
        raise UnsupportedImageError("cannot make thumbnails: out of memory decoding it") from exc
    except (UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise UnsupportedImageError(f"cannot make thumbnails: {exc}") from exc


def _render(image: Image.Image, source: str, max_pixels: int) -> dict[int, str]:
    fmt = image.format or "PNG"
    stored_w, stored_h = image.size
    if stored_w * stored_h > max_pixels:
        raise UnsupportedImageError(f"{stored_w}x{stored_h} is over the pixel cap")
    orientation = image.getexif().get(0x0112, 1)
    swapped = orientation in _SWAPS_AXES
    display_w, display_h = (stored_h, stored_w) if swapped else (stored_w, stored_h)
    largest = thumbnail_size(display_w, display_h, max(THUMBNAIL_WIDTHS))
    if largest[0] * largest[1] > MAX_OUTPUT_PIXELS:
        raise UnsupportedImageError(f"{display_w}x{display_h} would need a {largest[0]}x{largest[1]} thumbnail")
    if fmt == "JPEG":
        # libjpeg DCT scaling: decode at the smallest 1/2, 1/4, 1/8 scale still at least as large as needed.
        request = (largest[1], largest[0]) if swapped else largest
        image.draft(image.mode, request)
    image.load()
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB")
    if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    written: dict[int, str] = {}
    previous = upright
    for width in sorted(THUMBNAIL_WIDTHS, reverse=True):
        # Sizes are computed from the whole image; each is resampled from the next larger one (fewer
        # source pixels per output pixel, and the same filter), which is what keeps 100 cheap.
        size = thumbnail_size(upright.width, upright.height, width)
        thumb = previous.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) if size != previous.size else previous
        written[width] = _save_atomically(thumb, f"{source}_{width}", fmt)
        previous = thumb
    return written


def _save_atomically(image: Image.Image, target: str, fmt: str) -> str:
    """Locked temp file then rename: a redelivered job rewrites the same name, never a half-written one."""
    temp, handle = tempfiles.create_locked(os.path.dirname(target), tempfiles.THUMBNAIL_PREFIX)
    with handle:
        try:
            image.save(handle, format=fmt)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temp, target)  # before the lock goes with the close
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
    return target
