"""Content-Type from a file's name, as the original answers it: mime-db's database (mime_db.json, pinned,
refreshed by scripts/refresh_mime_db.py), read with the rules of the `mime-types` package (2.1.35) the
original calls, so every extension mime-db knows gets the original's type, on any machine and in any image
(never the host's mime.types).

- lookup: the extension is what Node's `path.extname('x.' + name)` gives, lower-cased: `a.tar.gz` → `gz`,
  and a name that is only an extension (`png`) counts as one. An extension several types claim goes to
  the type whose source ranks higher (nginx, apache, none, iana), an `application/*` type losing a tie,
  `application/octet-stream` always giving way, exactly as `mime-types` builds its table.
- charset: mime-db's charset for the type, else UTF-8 for `text/*` (`contentType()`), lower-cased.

A name with no known extension gets `application/octet-stream` (the contract leaves it open). One quirk of
`contentType()` is not copied: it takes a string containing `/` to be a type already, so a name such as
`a/b.png` would be sent with the type `a/b.png`; here it is looked up like any other name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import posixpath
from pathlib import Path
from typing import Any

MIME_DB_VERSION = "1.52.0"
MIME_DB_SHA256 = "85c8e1ba609079947c8df83c092900ab0226e1d7b60e5e7105fb7dd701833263"
MIME_DB_PATH = Path(__file__).with_name("mime_db.json")
FALLBACK = "application/octet-stream"

_SOURCE_RANK = {"nginx": 0, "apache": 1, None: 2, "iana": 3}  # mime-types' `preference`


@functools.cache
def tables() -> tuple[dict[str, str], dict[str, str]]:
    """(extension → type, type → charset) built as mime-types' populateMaps builds its table."""
    db: dict[str, dict[str, Any]] = json.loads(MIME_DB_PATH.read_bytes())
    types: dict[str, str] = {}
    for mime, entry in db.items():  # the file's order, as Object.keys gives it
        for extension in entry.get("extensions") or ():
            current = types.get(extension)
            if current is not None and current != FALLBACK:
                held = _SOURCE_RANK.get(db[current].get("source"), 2)
                new = _SOURCE_RANK.get(entry.get("source"), 2)
                if held > new or (held == new and current.startswith("application/")):
                    continue
            types[extension] = mime
    charsets = {mime: str(entry["charset"]) for mime, entry in db.items() if entry.get("charset")}
    return types, charsets


def extension_of(name: str) -> str:
    """Node's `path.extname('x.' + name).toLowerCase().substr(1)`."""
    return posixpath.splitext("x." + name)[1].lower()[1:]


def lookup(name: str) -> str | None:
    return tables()[0].get(extension_of(name)) if name else None


def content_type(name: str) -> str:
    mime = lookup(name)
    if mime is None:
        return FALLBACK
    charset = tables()[1].get(mime) or ("UTF-8" if mime.startswith("text/") else None)
    return f"{mime}; charset={charset.lower()}" if charset else mime


def database_digest() -> str:
    return hashlib.sha256(MIME_DB_PATH.read_bytes()).hexdigest()
