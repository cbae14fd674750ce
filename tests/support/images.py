"""Images made on the fly with Pillow for thumbnail tests."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(width: int, height: int, fmt: str = "PNG", orientation: int | None = None, mode: str = "RGB") -> bytes:
    image = Image.new(mode, (width, height), color=(200, 30, 30) if mode == "RGB" else None)
    if mode == "RGB":
        image.paste((10, 200, 10), (0, 0, width // 2, height // 2))
    buffer = io.BytesIO()
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()
