"""The gateway sends only regular files directly inside FOLDER_PATH, whatever the upstream names."""

import os
from pathlib import Path

from services.gateway.proxy import _within


def test_only_regular_files_directly_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "files"
    root.mkdir()
    blob = root / "0b6f1b5e-4bd1-4d8a-9c43-6f2b6c1c2f10"
    blob.write_bytes(b"x")
    (root / "sub").mkdir()
    (root / "sub" / "inner").write_bytes(b"y")
    outside = tmp_path / "secret"
    outside.write_bytes(b"z")
    os.symlink(outside, root / "link")
    resolved = root.resolve()
    assert _within(resolved, str(blob)) == blob.resolve()
    assert _within(resolved, str(root / ".." / "secret")) is None
    assert _within(resolved, str(root / "link")) is None  # a symlink out of the root
    assert _within(resolved, str(root / "sub" / "inner")) is None
    assert _within(resolved, str(root / "sub")) is None
    assert _within(resolved, str(root / "missing")) is None
    assert _within(resolved, "/etc/passwd") is None
