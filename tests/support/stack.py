"""The four real services as separate processes on free loopback ports, as `make run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from shared.runner import make_run_command
from tests.support.engines import Backends, control

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "files", "thumbnailer", "gateway")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    def __init__(self, backends: Backends, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.backends = backends
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.folder = workdir / "files"
        self.ports = {name: free_port() for name in SERVICES}
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATA_DIR": str(self.data_dir),
            "FOLDER_PATH": str(self.folder),
            "PORT": str(self.ports["gateway"]),
            "HOST": "127.0.0.1",
            "AUTH_PORT": str(self.ports["auth"]),
            "FILES_PORT": str(self.ports["files"]),
            "THUMBNAILER_PORT": str(self.ports["thumbnailer"]),
            "THUMBNAIL_RECONCILE_INTERVAL": "1",
            "THUMBNAIL_RECONCILE_AFTER": "2",
            "LOG_LEVEL": "INFO",
            **backends.env(),
            **(extra_env or {}),
        }
        for name in ("MONGO_URL", "REDIS_URL", "AMQP_URL", "DB_HOST", "DB_PORT", "REDIS_HOST", "REDIS_PORT"):
            if not backends.real and name in self.env and name not in (extra_env or {}):
                del self.env[name]
        self.extra_env = dict(extra_env or {})
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def start(self) -> None:
        """All four, or none: a service that fails to come up stops the ones already running."""
        try:
            for name in SERVICES:
                self.start_service(name, wait=False)
            for name in SERVICES:
                self.wait_healthy(name)
        except BaseException:
            self.stop()
            raise

    stop_signal = signal.SIGINT

    def command(self, name: str) -> list[str]:
        return make_run_command(name)  # the gateway under gunicorn with its workers, the rest alone

    def service_env(self, name: str) -> dict[str, str]:
        return self.env

    def start_service(self, name: str, wait: bool = True) -> None:
        with open(self.log_path(name), "ab") as log:
            self.procs[name] = subprocess.Popen(
                self.command(name), cwd=ROOT, env=self.service_env(name), stdout=log, stderr=log
            )
        if wait:
            self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.service_url(name)}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} not healthy after {timeout}s:\n{self.log(name)[-3000:]}")

    def stop_service(self, name: str, sig: int | None = None) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig if sig is not None else self.stop_signal)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        for name in reversed(SERVICES):
            self.stop_service(name)

    def engine(self, action: str, name: str) -> None:
        """Stop or start one real engine (mongo, redis or rabbitmq): here, the machine's own."""
        control(action, name)

    def discard(self) -> None:
        """What the stack leaves behind when the session ends: its folder, for the logs (tmp_path's rule)."""

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    # The services run on this machine: the paths they record are this machine's (containers differ).
    def host_path(self, path: str) -> str:
        return path

    def service_path(self, path: str) -> str:
        return path
