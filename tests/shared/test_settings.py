"""The generated internal secret: every process of a machine reads the same, complete value."""

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.settings import ConfigurationError, _internal_secret


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


ROOT = Path(__file__).resolve().parents[2]


def example_secret() -> str:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("INTERNAL_SECRET="):
            return line.partition("=")[2]
    raise AssertionError(".env.example names no INTERNAL_SECRET")


def test_the_example_secret_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNAL_SECRET", example_secret())
    with pytest.raises(ConfigurationError, match="example value"):
        _internal_secret(tmp_path)
    monkeypatch.setenv("INTERNAL_SECRET", "short")
    with pytest.raises(ConfigurationError, match="at least 32"):
        _internal_secret(tmp_path)
    monkeypatch.setenv("INTERNAL_SECRET", "k" * 40)
    assert _internal_secret(tmp_path) == b"k" * 40


def test_a_service_started_with_the_example_secret_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MONGO_URL", "REDIS_URL", "AMQP_URL", "DB_HOST", "REDIS_HOST")
    }
    env.update({"INTERNAL_SECRET": example_secret(), "DATA_DIR": str(tmp_path), "AUTH_PORT": "0"})
    done = subprocess.run(
        [sys.executable, "-m", "services.auth"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "auth: configuration error: INTERNAL_SECRET is still the example value of .env.example; set a random one "
        "(openssl rand -hex 32) and give every service the same"
    ]
