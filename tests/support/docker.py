"""docker-compose.yml run for real (FM_STACK=docker): images built from this checkout, every container up
and healthy, the tests through the gateway's published port, exactly as an operator runs it.

The project directory is the stack's work folder: it holds the run's .env (fresh secrets, loopback ports)
and nothing else; docker/compose.ci.yml points the builds at this checkout and, where Docker Hub cannot be
reached, swaps the engine images for local stand-ins (scripts/docker.sh). Engines' ports are published on
loopback so that the tests' direct store access reaches what the containers hold; the services' own ports
stay unpublished and are reached on the compose network's addresses, as the other containers reach them.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.engines import Backends
from tests.support.stack import ROOT, SERVICES, Stack, StoredBlobs, free_port

COMPOSE_FILES = (ROOT / "docker-compose.yml", ROOT / "docker" / "compose.ci.yml")
# FM_COMPOSE_S3=1: with docker-compose.s3.yml (bytes in MinIO, no shared volume) and its CI stand-in.
S3_COMPOSE_FILES = (ROOT / "docker-compose.s3.yml", ROOT / "docker" / "compose.ci-s3.yml")
SERVICE_PORTS = {"gateway": 5000, "auth": 5001, "files": 5002, "thumbnailer": 5003}
ENGINES = ("mongo", "redis", "rabbitmq")


def with_s3() -> bool:
    return os.environ.get("FM_COMPOSE_S3") == "1"


CONTAINER_FOLDER = "/files"  # FOLDER_PATH in docker-compose.yml
CONTAINER_DATA = "/data"  # DATA_DIR
RABBITMQ_USER = "files-manager"


def docker_backends() -> Backends:
    """The engines the stack's containers will publish on loopback, with fresh ports and a fresh password."""
    password = secrets.token_hex(12)
    return Backends(
        "engines",
        mongo_url=f"mongodb://127.0.0.1:{free_port()}/?directConnection=true&retryWrites=false",
        mongo_database="files_manager",  # DB_DATABASE in docker-compose.yml
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        amqp_url=f"amqp://{RABBITMQ_USER}:{password}@127.0.0.1:{free_port()}/",
    )


def docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


class DockerStack(Stack):
    stop_signal = signal.SIGTERM  # what `docker stop` sends

    def __init__(self, backends: Backends, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        if extra_env:
            raise ValueError("a second stack with other settings is not run in containers (marker: processes)")
        for variable in ("BASE_IMAGE", "CI_ENGINES_TAG"):
            if not os.environ.get(variable):
                raise RuntimeError(f"{variable} is not set: run through `make compose-test`")
        self.backends = backends
        self.workdir = workdir
        self.extra_env = {}
        self.project = f"fmtest{secrets.token_hex(3)}"
        self.public_port = free_port()
        self.ports = {"gateway": self.public_port}
        amqp = urlsplit(str(backends.amqp_url))
        settings = {
            "CI_SOURCE_DIR": str(ROOT),
            "BASE_IMAGE": os.environ["BASE_IMAGE"],
            "CI_ENGINES_TAG": os.environ["CI_ENGINES_TAG"],
            "CI_MONGO_PORT": str(urlsplit(str(backends.mongo_url)).port),
            "CI_REDIS_PORT": str(urlsplit(str(backends.redis_url)).port),
            "CI_AMQP_PORT": str(amqp.port),
            "INTERNAL_SECRET": secrets.token_hex(32),
            "RABBITMQ_USER": str(amqp.username),
            "RABBITMQ_PASSWORD": str(amqp.password),
            "PUBLIC_ADDRESS": "127.0.0.1",
            "PUBLIC_PORT": str(self.public_port),
            # As the other harnesses run: a missed thumbnail is noticed within seconds, not minutes.
            "THUMBNAIL_RECONCILE_INTERVAL": "1",
            # Quick, yet not below what the files service allows (twice the job publish timeout: 6 s with
            # RabbitMQ, 20 s with the SQLite queue, which raises it); production waits 60 s.
            "THUMBNAIL_RECONCILE_AFTER": "6",
        }
        if with_s3():
            settings.update(MINIO_ROOT_USER="files-manager", MINIO_ROOT_PASSWORD=secrets.token_hex(16))
        self.settings = settings
        workdir.mkdir(parents=True, exist_ok=True)
        self.write_env()
        self._volumes: dict[str, Path] = {}

    def write_env(self) -> None:
        """The run's .env from `settings`: a later `up` recreates every container whose settings changed."""
        (self.workdir / ".env").write_text("".join(f"{key}={value}\n" for key, value in self.settings.items()))

    # compose ---------------------------------------------------------------------------------------
    def compose(self, *args: str, timeout: float = 600) -> str:
        chosen = (*COMPOSE_FILES, *S3_COMPOSE_FILES) if with_s3() else COMPOSE_FILES
        files = [part for path in chosen for part in ("-f", str(path))]
        command = ["docker-compose", "-p", self.project, "--project-directory", str(self.workdir), *files, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"docker-compose {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def containers(self, name: str) -> list[dict[str, Any]]:
        ids = self.compose("ps", "-q", name).split()
        return list(json.loads(docker("inspect", *ids))) if ids else []

    def container(self, name: str) -> dict[str, Any]:
        found = self.containers(name)
        assert len(found) == 1, f"{len(found)} containers of {name}"
        return found[0]

    def volume(self, name: str) -> Path:
        if name not in self._volumes:
            mount = docker("volume", "inspect", "-f", "{{.Mountpoint}}", f"{self.project}_{name}")
            self._volumes[name] = Path(mount.strip())
        return self._volumes[name]

    # what the tests use ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.public_port}"

    def service_url(self, name: str) -> str:
        networks = self.container(name)["NetworkSettings"]["Networks"]
        address = next(iter(networks.values()))["IPAddress"]
        return f"http://{address}:{SERVICE_PORTS[name]}"

    @property  # type: ignore[override]
    def folder(self) -> Path:
        return self.volume("files")

    @property  # type: ignore[override]
    def blobs(self) -> StoredBlobs:  # the files volume (no bucket in containers yet)
        return StoredBlobs(self.folder, "")

    @property  # type: ignore[override]
    def data_dir(self) -> Path:
        return self.volume("app-data")

    def host_path(self, path: str) -> str:
        """A path as the services record it, seen from this machine (the volume's mount point)."""
        for inside, volume in ((CONTAINER_FOLDER, "files"), (CONTAINER_DATA, "app-data")):
            if path == inside or path.startswith(inside + "/"):
                return str(self.volume(volume)) + path[len(inside) :]
        return path

    def service_path(self, path: str) -> str:
        """A path on this machine inside a volume, as the services see it."""
        for inside, volume in ((CONTAINER_FOLDER, "files"), (CONTAINER_DATA, "app-data")):
            mount = str(self.volume(volume))
            if path == mount or path.startswith(mount + "/"):
                return inside + path[len(mount) :]
        return path

    def log(self, name: str) -> str:
        return self.compose("logs", "--no-color", name)

    def container_log(self, container_id: str) -> str:
        done = subprocess.run(["docker", "logs", container_id], capture_output=True, text=True, timeout=60, check=True)
        return done.stdout + done.stderr

    def running(self, name: str) -> bool:
        state = self.container(name)["State"]
        return bool(state["Running"]) and not state["Restarting"]

    # lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Build (layers are cached), then `up`; every container healthy, or the stack is taken down."""
        try:
            self.compose("build", "--quiet", timeout=1800)
            self.compose("up", "-d", timeout=600)
            self.wait_all_healthy()
            for name in SERVICES:  # and docker-compose.yml's own healthchecks pass in the images, once
                self.wait_container_healthy(name)
        except BaseException:
            self.discard()
            raise

    def wait_all_healthy(self, timeout: float = 180, without: tuple[str, ...] = ()) -> None:
        for name in (*ENGINES, "minio") if with_s3() else ENGINES:
            self.wait_container_healthy(name, timeout)
        for name in SERVICES:
            if name not in without:
                self.wait_healthy(name, timeout)

    def wait_container_healthy(self, name: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.containers(name)
            if found and all(c["State"].get("Health", {}).get("Status") == "healthy" for c in found):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{name} not healthy after {timeout}s:\n{self.log(name)[-3000:]}")

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        """Each container of the service answers /healthz on its own address (the gateway: also its port)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                found = self.containers(name)
                addresses = [next(iter(c["NetworkSettings"]["Networks"].values()))["IPAddress"] for c in found]
                if found and all(address and self._answers(address, name) for address in addresses):
                    return
            except (RuntimeError, StopIteration):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} not healthy after {timeout}s:\n{self.log(name)[-3000:]}")

    @staticmethod
    def _answers(address: str, name: str) -> bool:
        try:
            url = f"http://{address}:{SERVICE_PORTS[name]}/healthz"
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our compose network
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def start_service(self, name: str, wait: bool = True) -> None:
        self.compose("start", name)
        if wait:
            self.wait_healthy(name)

    def stop_service(self, name: str, sig: int | None = None) -> None:
        if sig is None:
            self.compose("stop", name)
        else:
            self.signal(name, sig)

    def signal(self, name: str, sig: int) -> int:
        """Send a signal to the main process of the service's container, from this machine, by the pid Docker
        reports; unlike `docker kill`, Docker sees a crash and applies the restart policy. Returns that pid."""
        pid = int(self.container(name)["State"]["Pid"])
        assert pid > 0, f"{name} is not running"
        os.kill(pid, sig)
        return pid

    def engine(self, action: str, name: str) -> None:
        """Stop or start the stack's own engine container."""
        self.compose(action, name)
        if action == "start":
            self.wait_container_healthy(name)

    def stop(self) -> None:
        """Stop every container, keeping them and their volumes (as the process stack keeps its folder)."""
        self.compose("stop", timeout=300)

    def discard(self) -> None:
        """`down -v`: containers, network and volumes gone."""
        self.compose("down", "-v", "--remove-orphans", timeout=300)
