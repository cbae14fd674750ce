"""Which adapter set a test run uses (FM_BACKENDS=embedded|engines), and where the real engines are."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from shared.objects import ObjectStore, S3Settings

DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_S3_ENDPOINT = "http://127.0.0.1:9000"
# The local MinIO's root credentials, as scripts/services.sh starts it (loopback only).
LOCAL_S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "files-manager", "AWS_SECRET_ACCESS_KEY": "files-manager-local-secret"}


@dataclass(frozen=True)
class Backends:
    name: str  # "embedded" or "engines"
    mongo_url: str | None = None
    mongo_database: str | None = None
    redis_url: str | None = None
    amqp_url: str | None = None

    @property
    def real(self) -> bool:
        return self.name == "engines"

    def env(self) -> dict[str, str]:
        if not self.real:
            return {}
        assert self.mongo_url and self.redis_url and self.amqp_url and self.mongo_database
        return {
            "MONGO_URL": self.mongo_url,
            "DB_DATABASE": self.mongo_database,
            "REDIS_URL": self.redis_url,
            "AMQP_URL": self.amqp_url,
        }


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def engines_from_env(database: str) -> Backends:
    """The real engines this environment points at (or their local defaults), with a database of its own."""
    return Backends(
        "engines",
        mongo_url=os.environ.get("MONGO_URL") or DEFAULT_MONGO_URL,
        mongo_database=database,
        redis_url=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        amqp_url=os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL,
    )


def unreachable(backends: Backends) -> list[str]:
    """The names of the engines that do not accept a connection."""
    return [
        name
        for name, url, port in (
            ("MongoDB", backends.mongo_url, 27017),
            ("Redis", backends.redis_url, 6379),
            ("RabbitMQ", backends.amqp_url, 5672),
        )
        if not _reachable(str(url), port)
    ]


def selected_backends() -> Backends:
    """The set named by FM_BACKENDS. Unreachable engines fail the run in CI and skip it elsewhere."""
    name = os.environ.get("FM_BACKENDS", "embedded")
    if name == "embedded":
        return Backends("embedded")
    if name != "engines":
        raise pytest.UsageError(f"FM_BACKENDS must be 'embedded' or 'engines', not {name!r}")
    backends = engines_from_env(f"fm_test_{uuid.uuid4().hex[:8]}")
    missing = unreachable(backends)
    if missing:
        reason = f"real engines unreachable: {', '.join(missing)} (start them with `make services`)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return backends


def control(action: str, engine: str) -> None:
    """Stop or start one real engine through scripts/services.sh (the same script CI uses)."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"
    subprocess.run(["bash", str(script), action, engine], check=True, capture_output=True, timeout=300)


def own_broker(backends: Backends, prefix: str) -> dict[str, str]:
    """The environment giving a second stack a RabbitMQ virtual host of its own on the engine set, so that
    the session stack's consumers never take its jobs (nor it theirs); nothing on the embedded set, whose
    jobs live in each stack's own file."""
    if not backends.real:
        return {}
    vhost = f"{prefix}-{uuid.uuid4().hex[:8]}"
    control("vhost", vhost)
    return {"AMQP_URL": f"{str(backends.amqp_url).rstrip('/')}/{vhost}"}


def s3_settings() -> S3Settings:
    """The S3 server this environment points at (S3_ENDPOINT, default the local MinIO), with the local
    credentials unless the environment has its own. Unreachable: fails in CI, skips elsewhere."""
    from shared.objects import S3Settings

    endpoint = os.environ.get("S3_ENDPOINT") or DEFAULT_S3_ENDPOINT
    for variable, value in LOCAL_S3_CREDENTIALS.items():
        os.environ.setdefault(variable, value)
    if not _reachable(endpoint, 9000):
        reason = f"S3 unreachable at {endpoint} (start it with `make services`)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return S3Settings(bucket="", endpoint=endpoint)


@contextlib.asynccontextmanager
async def own_bucket(prefix: str) -> AsyncIterator[ObjectStore]:
    """A bucket of the caller's own on the S3 server, made now, emptied and removed afterwards."""
    from shared.objects import ObjectStore, S3Settings

    settings = S3Settings(bucket=f"{prefix}-{uuid.uuid4().hex[:12]}", endpoint=s3_settings().endpoint)
    async with ObjectStore(settings) as store:
        await store.ensure_bucket()
        try:
            yield store
        finally:
            await store.abandoned_uploads(timedelta(0))
            async for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket):
                await store.remove([item["Key"] for item in page.get("Contents", [])])
            await store.client.delete_bucket(Bucket=settings.bucket)
