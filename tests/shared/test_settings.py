"""The generated internal secret: every process of a machine reads the same, complete value."""

import multiprocessing
from pathlib import Path
from typing import Any

from shared.settings import _internal_secret


def _read_secret(data_dir: str, start: Any, out: Any) -> None:
    start.wait()
    out.put(_internal_secret(Path(data_dir)))


def test_processes_starting_together_agree_on_one_complete_secret(tmp_path: Path) -> None:
    for attempt in range(10):
        data_dir = tmp_path / f"data{attempt}"
        start, out = multiprocessing.Event(), multiprocessing.Queue()
        procs = [multiprocessing.Process(target=_read_secret, args=(str(data_dir), start, out)) for _ in range(6)]
        for proc in procs:
            proc.start()
        start.set()
        results = {out.get(timeout=20) for _ in procs}
        for proc in procs:
            proc.join()
        assert len(results) == 1
        [secret] = results
        assert len(secret) == 64
        assert [p.name for p in data_dir.iterdir()] == ["internal.secret"]
        assert (data_dir / "internal.secret").stat().st_mode & 0o777 == 0o600


def test_configured_secret_wins(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTERNAL_SECRET", "s" * 40)
    assert _internal_secret(tmp_path) == b"s" * 40
    assert list(tmp_path.iterdir()) == []
