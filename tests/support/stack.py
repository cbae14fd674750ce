"""The four real services as separate processes on free loopback ports, as `make run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from shared.objects import SCHEME
from shared.runner import make_run_command
from shared.tempfiles import UPLOAD_PREFIX
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
            # Quick, yet not below what the files service allows (twice the job publish timeout: 6 s with
            # RabbitMQ, 20 s with the SQLite queue, which raises it); production waits 60 s.
            "THUMBNAIL_RECONCILE_AFTER": "6",
            "LOG_LEVEL": "INFO",
            **backends.env(),
            **(extra_env or {}),
        }
        for name in ("MONGO_URL", "REDIS_URL", "AMQP_URL", "DB_HOST", "DB_PORT", "REDIS_HOST", "REDIS_PORT"):
            if not backends.real and name in self.env and name not in (extra_env or {}):
                del self.env[name]
        # With FM_BLOBS=s3, a bucket of the stack's own, unless its settings name one.
        bucket = (extra_env or {}).get("S3_BUCKET") or f"fm-{uuid.uuid4().hex[:12]}"
        self.blobs = StoredBlobs(self.folder, bucket, named="S3_BUCKET" in (extra_env or {}))
        self.env = {**self.env, **self.blobs.env(), **(extra_env or {})}
        self.extra_env = {**self.blobs.env(), **(extra_env or {})}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def service_urls(self, name: str) -> list[str]:
        """Each instance of the service (one here; replicas elsewhere)."""
        return [self.service_url(name)]

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
        """What the stack leaves behind when the session ends: its folder, for the logs (tmp_path's rule);
        its bucket is emptied and removed."""
        self.blobs.discard()

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    # The services run on this machine: the paths they record are this machine's (containers differ).
    def host_path(self, path: str) -> str:
        return path

    def service_path(self, path: str) -> str:
        return path


class StoredBlobs:
    """What a stack stores, seen from the tests, on the volume (`FOLDER_PATH`) or, with FM_BLOBS=s3, in a
    bucket of the stack's own (its services get S3_BUCKET): names, bytes, existence, by name or by a
    record's localPath. A multipart upload in progress shows as `UPLOAD_PREFIX + key`, as a temp file
    being written shows on the volume."""

    def __init__(self, folder: Path, bucket: str, named: bool = False) -> None:
        self.folder = folder
        self.bucket = bucket if named or os.environ.get("FM_BLOBS") == "s3" else None
        self._client: Any = None

    def env(self) -> dict[str, str]:
        if self.bucket is None:
            return {}
        from tests.support.engines import s3_settings

        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT": str(s3_settings().endpoint),
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        }

    @property
    def client(self) -> Any:
        if self._client is None:
            import botocore.session
            from botocore.config import Config

            env = self.env()
            self._client = botocore.session.get_session().create_client(
                "s3", endpoint_url=env["S3_ENDPOINT"], region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
            )  # fmt: skip
        return self._client

    def location(self, name: str) -> str:
        """The localPath a record of the blob `name` has."""
        return f"{SCHEME}{self.bucket}/{name}" if self.bucket else str(self.folder / name)

    def _key(self, location: str) -> str | None:
        """The bucket key of a localPath or name; None for a path on the volume."""
        if location.startswith(SCHEME):
            return location.split("/", 3)[3]
        if self.bucket is not None and "/" not in location:
            return location
        return None

    def _path(self, location: str) -> Path:
        return Path(location) if os.path.isabs(location) else self.folder / location

    def names(self) -> set[str]:
        """Every file of the folder, temp files included, and every object and multipart upload."""
        found = {p.name for p in self.folder.iterdir()} if self.folder.exists() else set()
        if self.bucket is not None:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                found.update(item["Key"] for item in page.get("Contents", []))
            uploads = self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
            found.update(UPLOAD_PREFIX + upload["Key"] for upload in uploads)
        return found

    def read(self, location: str) -> bytes:
        key = self._key(location)
        if key is None:
            return self._path(location).read_bytes()
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def exists(self, location: str) -> bool:
        key = self._key(location)
        if key is None:
            return self._path(location).exists()
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError:
            return False
        return True

    def write(self, location: str, data: bytes) -> None:
        """Replace the bytes behind the services' back (a damaged disk, a tampered object)."""
        key = self._key(location)
        if key is None:
            self._path(location).write_bytes(data)
        else:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def discard(self) -> None:
        if self.bucket is None:
            return
        try:
            for upload in self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for item in page.get("Contents", []):
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
            self.client.delete_bucket(Bucket=self.bucket)
        except self.client.exceptions.NoSuchBucket:
            pass
