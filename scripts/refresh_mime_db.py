"""Fetch mime-db's database (the data the original's `mime-types` package answers from) into
services/files/mime_db.json, byte for byte as published on npm, after checking the tarball's integrity.

    python scripts/refresh_mime_db.py [VERSION]

VERSION defaults to the one pinned in services/files/mime.py (MIME_DB_VERSION), which is the release the
original's `mime-types@2.1.35` depends on. After a change of version, update MIME_DB_VERSION and
MIME_DB_SHA256 there (the script prints the new digest) and run the tests.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.files.mime import MIME_DB_PATH, MIME_DB_VERSION  # noqa: E402

REGISTRY = "https://registry.npmjs.org/mime-db"


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https registry
        data: bytes = response.read()
    return data


def main(argv: list[str]) -> int:
    version = argv[0] if argv else MIME_DB_VERSION
    meta = json.loads(fetch(f"{REGISTRY}/{version}"))
    tarball = fetch(meta["dist"]["tarball"])
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    if algorithm != "sha512" or base64.b64encode(hashlib.sha512(tarball).digest()).decode() != expected:
        print(f"mime-db {version}: the tarball does not match the registry's integrity", file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/db.json")
        if member is None:
            print(f"mime-db {version}: no package/db.json in the tarball", file=sys.stderr)
            return 1
        data = member.read()
    json.loads(data)  # it is JSON
    MIME_DB_PATH.write_bytes(data)
    print(f"mime-db {version} written to {MIME_DB_PATH.relative_to(ROOT)}")
    print(f"MIME_DB_SHA256 = {hashlib.sha256(data).hexdigest()!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
