"""Thumbnail rendering with Pillow: allowlisted formats, a pixel cap, EXIF orientation, JPEG draft decoding.

Blocking; the worker runs it in a thread (Pillow releases the GIL while decoding and resampling).
"""

from __future__ import annotations

import contextlib
import os
import uuid

from PIL import Image, ImageOps, UnidentifiedImageError

WIDTHS = (500, 250, 100)
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
_SWAPS_AXES = {5, 6, 7, 8}


class UnsupportedImageError(Exception):
    """The file is not an image we decode, is too large, or is corrupt."""


def thumbnail_size(width: int, height: int, target: int) -> tuple[int, int]:
    """Width `target`, height round(H * target / W): the contract's aspect rule (upscaling allowed)."""
    return target, max(1, round(height * target / width))


def render_thumbnails(source: str, max_pixels: int) -> dict[int, str]:
    try:
        with Image.open(source, formats=ALLOWED_FORMATS) as image:
            return _render(image, source, max_pixels)
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise UnsupportedImageError(f"cannot make thumbnails: {exc}") from exc


def _render(image: Image.Image, source: str, max_pixels: int) -> dict[int, str]:
    fmt = image.format or "PNG"
    stored_w, stored_h = image.size
    if stored_w * stored_h > max_pixels:
        raise UnsupportedImageError(f"{stored_w}x{stored_h} is over the pixel cap")
    orientation = image.getexif().get(0x0112, 1)
    swapped = orientation in _SWAPS_AXES
    display_w, display_h = (stored_h, stored_w) if swapped else (stored_w, stored_h)
    largest = thumbnail_size(display_w, display_h, max(WIDTHS))
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
    for width in WIDTHS:
        size = thumbnail_size(upright.width, upright.height, width)
        thumb = upright.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        written[width] = _save_atomically(thumb, f"{source}_{width}", fmt)
    return written


def _save_atomically(image: Image.Image, target: str, fmt: str) -> str:
    """Temp file then rename: a redelivered job rewrites the same name, never a half-written one."""
    temp = f"{os.path.dirname(target)}/.thumb-{uuid.uuid4().hex}"
    try:
        with open(temp, "xb") as handle:
            image.save(handle, format=fmt)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return target
