"""The files check: each kind of breach found, the safe ones repaired, and the command an operator runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from services.files.files_store import FileRecord
from services.files.fsck import LOST_AND_FOUND
from services.files.uploads import UploadRequest
from shared.database import new_id
from tests.files.conftest import Files
from tests.files.test_tree import OWNER, folder, upload_file
from tests.support.stack import ROOT

OLD = time.time() - 7200


def old_file(path: Path, content: bytes = b"stray") -> Path:
    """A file written an hour ago or more: past any grace period the tests use."""
    path.write_bytes(content)
    os.utime(path, (OLD, OLD))
    return path


async def damaged_state(files: Files) -> dict[str, str]:
    """One of each breach, beside healthy records."""
    good = await folder(files, "good")
    kept = await upload_file(files, "kept.txt", good, b"keep me")
    rotten = await upload_file(files, "rotten.txt", 0, b"original")
    gone = await upload_file(files, "gone.txt", 0, b"lost")
    now = time.time()
    orphan, loop_a, loop_b = new_id(), new_id(), new_id()
    for this, parent in ((orphan, new_id()), (loop_a, loop_b), (loop_b, loop_a)):
        await files.store.insert(FileRecord(this, OWNER.user_id, this, "folder", False, parent, created_at=now))
    rotten_path = Path(str((await files.store.get(rotten["id"])).local_path))  # type: ignore[union-attr]
    rotten_path.write_bytes(b"0riginal")  # same size, one byte changed
    Path(str((await files.store.get(gone["id"])).local_path)).unlink()  # type: ignore[union-attr]
    return {"good": good, "kept": kept["id"], "rotten": rotten["id"], "gone": gone["id"], "orphan": orphan,
            "cycle": min(loop_a, loop_b)}  # fmt: skip


def strays(folder: Path) -> dict[str, Path]:
    made = {
        "unreferenced": folder / "11111111-1111-4111-8111-111111111111",
        "young": folder / "22222222-2222-4222-8222-222222222222",
        "thumbnail": folder / "33333333-3333-4333-8333-333333333333_250",
        "temp": folder / ".upload-dead",
    }
    for name, path in made.items():
        if name == "young":
            path.write_bytes(b"stray")
        else:
            old_file(path)
    return made


async def test_check_reports_each_breach_and_repair_fixes_the_safe_ones(files: Files) -> None:
    ids = await damaged_state(files)
    old_file(files.folder / "00000000-0000-4000-8000-000000000000")
    left = strays(files.folder)
    report = await files.checker.check(grace=3600, verify=True)
    found = {(f.kind, f.subject) for f in report.findings}
    assert found == {
        ("orphan", ids["orphan"]),
        ("cycle", ids["cycle"]),
        ("missing-blob", ids["gone"]),
        ("bitrot", ids["rotten"]),
        ("unreferenced-blob", str(left["unreferenced"])),
        ("unreferenced-blob", str(files.folder / "00000000-0000-4000-8000-000000000000")),
        ("stray-thumbnail", str(left["thumbnail"])),
        ("temp-file", str(left["temp"])),
    }
    assert "I1: 1, I2: 1, I3: 4, I4: 1" in report.summary()

    repaired = await files.checker.repair(grace=3600, verify=True)
    assert {f.kind for f in repaired.findings} == {"missing-blob", "bitrot"}  # for an operator and a backup
    assert any("into lost+found" in line for line in repaired.repairs)
    [lost_and_found] = [r for r in await files.store.children(OWNER.user_id, "0") if r.name == LOST_AND_FOUND]
    rehomed = {r.id for r in await files.store.children(OWNER.user_id, lost_and_found.id)}
    assert rehomed == {ids["orphan"], ids["cycle"]}
    assert sorted(p.name for p in files.folder.iterdir() if p.name in {x.name for x in left.values()}) == [
        left["young"].name
    ]
    assert (await files.store.get(ids["kept"])) is not None  # healthy records untouched


async def test_thumbnails_of_a_live_image_are_not_strays(files: Files) -> None:
    from tests.support.images import image_bytes

    async def stage():  # type: ignore[no-untyped-def]
        return await files.library._blobs.write(image_bytes(10, 10))

    view = await files.library.upload(OWNER, UploadRequest("i.png", "image", 0, False, "x"), stage)
    path = str((await files.store.get(view["id"])).local_path)  # type: ignore[union-attr]
    for width in (500, 250, 100):
        old_file(Path(f"{path}_{width}"), b"thumbnail")
    assert (await files.checker.check(grace=0)).findings == []
    await files.library.delete(OWNER, view["id"])
    assert list(files.folder.iterdir()) == []


def test_the_command_reports_repairs_and_sets_its_exit_status(tmp_path: Path) -> None:
    """`python -m services.files.fsck` on an embedded deployment's data, as an operator runs it."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "FOLDER_PATH": str(tmp_path / "files")}
    for name in ("MONGO_URL", "REDIS_URL", "AMQP_URL", "DB_HOST", "DB_PORT", "DB_DATABASE"):
        env.pop(name, None)

    def fsck(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.files.fsck", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    clean = fsck()
    assert clean.returncode == 0, clean.stderr
    assert "violations: 0 (I1: 0, I2: 0, I3: 0, I4: 0)" in clean.stdout
    (tmp_path / "files").mkdir(exist_ok=True)
    old_file(tmp_path / "files" / "44444444-4444-4444-8444-444444444444")
    broken = fsck()
    assert broken.returncode == 1 and "I3 unreferenced-blob" in broken.stdout, broken.stdout
    repaired = fsck("--repair", "--verify", "--quiet")
    assert repaired.returncode == 0, repaired.stdout
    assert "repaired: removed unreferenced-blob" in repaired.stdout
    assert list((tmp_path / "files").iterdir()) == []
