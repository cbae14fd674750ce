"""`make run`: the four services in the foreground, each line prefixed with its name; Ctrl-C stops them all.

The gateway runs under gunicorn with its workers (WEB_CONCURRENCY, one per core by default: it is stateless,
and a second worker pays even on two cores, ADR 8); auth, files and the thumbnailer run as one process each, since on
the embedded defaults they share one SQLite file with a single writer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from shared.runner import make_run_command  # noqa: E402

SERVICES = ("auth", "files", "thumbnailer", "gateway")
COLOURS = {"auth": "\033[35m", "files": "\033[36m", "thumbnailer": "\033[33m", "gateway": "\033[32m"}
RESET = "\033[0m"


def _pump(name: str, stream: IO[bytes], lock: threading.Lock, colour: bool) -> None:
    prefix = f"{COLOURS[name]}{name:<11}|{RESET} " if colour else f"{name:<11}| "
    for line in iter(stream.readline, b""):
        with lock:
            sys.stdout.write(prefix + line.decode(errors="replace"))
            sys.stdout.flush()


def main() -> int:
    colour = sys.stdout.isatty()
    lock = threading.Lock()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in SERVICES:
        procs[name] = subprocess.Popen(
            make_run_command(name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        )
        threading.Thread(target=_pump, args=(name, procs[name].stdout, lock, colour), daemon=True).start()

    port = os.environ.get("PORT", "5000")
    print(f"Files manager: open http://localhost:{port}/ in a browser; the API answers on the same port", flush=True)

    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping.is_set():
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with status {proc.returncode}; stopping the others", flush=True)
                exit_code = proc.returncode or 1
                stopping.set()
        time.sleep(0.2)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 30
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
