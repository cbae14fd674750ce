"""The contract's thumbnail widths and names, `<localPath>_<width>`: written by the thumbnailer, served and
removed by the files service, checked by the files check."""

from __future__ import annotations

THUMBNAIL_WIDTHS = (500, 250, 100)
THUMBNAIL_SUFFIXES = tuple(f"_{width}" for width in THUMBNAIL_WIDTHS)
THUMBNAIL_SIZES = frozenset(str(width) for width in THUMBNAIL_WIDTHS)  # the `?size=` values
