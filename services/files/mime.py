"""Content-Type from a file's name, from Python's built-in table only (never the host's mime.types)."""

from __future__ import annotations

import mimetypes

_TABLE = mimetypes.MimeTypes()
FALLBACK = "application/octet-stream"


def content_type(name: str) -> str:
    guessed, _ = _TABLE.guess_type(name, strict=False)
    if guessed is None:
        return FALLBACK
    if guessed.startswith("text/"):
        return f"{guessed}; charset=utf-8"
    return guessed
