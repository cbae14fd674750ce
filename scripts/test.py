"""`make test`: the whole suite on the embedded adapters, then on the real engines, then the integration
harness (each service under gunicorn exactly as docker-compose.yml runs it, on the real engines), then the
black-box suite past one machine (bytes in S3, a bucket per stack on MinIO; two files services and two
thumbnailers behind nginx).

In CI (CI=true) the real-engine runs are mandatory and an unreachable engine fails them. Elsewhere, when
the engines are not running, those runs are skipped with the reason printed (start them: `make services`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from urllib.parse import urlsplit

ENGINES = {
    "MongoDB": ("MONGO_URL", "mongodb://127.0.0.1:27017/", 27017),
    "Redis": ("REDIS_URL", "redis://127.0.0.1:6379/0", 6379),
    "RabbitMQ": ("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", 5672),
    "S3": ("S3_ENDPOINT", "http://127.0.0.1:9000", 9000),
}


def unreachable_engines() -> list[str]:
    missing = []
    for name, (variable, default, port) in ENGINES.items():
        parts = urlsplit(os.environ.get(variable) or default)
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or port), timeout=2):
                pass
        except OSError:
            missing.append(name)
    return missing


def ensure_browser() -> None:
    """The browser tests (tests/browser) drive Debian's Chromium and chromedriver: installed when missing, as
    `make services` installs the engines. Where that cannot be done, those tests say why (and fail in CI)."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    script = 'log() { echo "test: $*"; }; source scripts/lib.sh; apt_install chromium chromium-driver'
    if subprocess.run(["bash", "-c", script], check=False).returncode != 0:
        print("could not install chromium and chromium-driver; the browser tests will say so", flush=True)


def run_set(name: str, extra: list[str], env_extra: dict[str, str], paths: list[str]) -> tuple[int, str]:
    print(f"\n=== {name} ===", flush=True)
    env = {**os.environ, **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *paths, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    summary = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        if re.search(r"\d+ (passed|failed|error)", line):
            summary = line.strip().strip("= ")
    return proc.wait(), summary


def _count(summary: str, kind: str) -> int:
    match = re.search(rf"(\d+) {kind}", summary)
    return int(match.group(1)) if match else 0


def main() -> int:
    extra = sys.argv[1:]
    results: list[tuple[str, int, str]] = []
    ensure_browser()
    code, summary = run_set("embedded", extra, {"FM_BACKENDS": "embedded"}, [])
    results.append(("embedded", code, summary))
    missing = unreachable_engines()
    if missing and not os.environ.get("CI"):
        reason = f"skipped: {', '.join(missing)} not running (start them with `make services`)"
        results.append(("engines", 0, reason))
        results.append(("integration", 0, reason))
        results.append(("s3-replicas", 0, reason))
    else:
        code, summary = run_set("engines", extra, {"FM_BACKENDS": "engines"}, [])
        results.append(("engines", code, summary))
        code, summary = run_set(
            "integration", extra, {"FM_BACKENDS": "engines", "FM_STACK": "compose"}, ["tests/api", "tests/integration"]
        )
        results.append(("integration", code, summary))
        # The black-box suite past one machine: every stack's bytes in a bucket of its own (MinIO), two files
        # services and two thumbnailers with folders of their own behind a balancer (nginx).
        env = {"FM_BACKENDS": "engines", "FM_BLOBS": "s3", "FM_STACK": "replicas"}
        code, summary = run_set("s3-replicas", extra, env, ["tests/api"])
        results.append(("s3-replicas", code, summary))
    print("\n=== pass counts per set ===")
    for name, code, summary in results:
        print(f"{name:>12}: {summary or 'no summary'}{'' if code == 0 else f'  (exit {code})'}")
    totals = {kind: sum(_count(summary, kind) for _, _, summary in results) for kind in ("passed", "failed", "error")}
    print(f"total: {totals['passed']} passed, {totals['failed'] + totals['error']} failed")
    return next((code for _, code, _ in results if code != 0), 0)


if __name__ == "__main__":
    sys.exit(main())
