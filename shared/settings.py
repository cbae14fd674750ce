"""Environment parsing and engine selection, read once in each service's factory."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


class ConfigurationError(ValueError):
    """A setting a service refuses to start with; the message says what to change."""


# The value .env.example ships with: a deployment that copied the file without changing it must not start
# with a key the whole world has read.
EXAMPLE_SECRET_MARK = "change-me"  # noqa: S105 - a marker to refuse, not a secret


def env_str(name: str, default: str) -> str:
    """An environment value, with the default also used when the variable is set but empty."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices` (case-blind), or `default` when unset."""
    chosen = os.environ.get(name, "").strip().lower() or default
    if chosen not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {chosen!r}")
    return chosen


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class EngineSettings:
    """Which engine serves each storage concern; an unset variable selects the embedded SQLite file."""

    data_dir: Path
    mongo_url: str | None
    mongo_database: str
    redis_url: str | None
    amqp_url: str | None
    internal_secret: bytes
    amqp_queue_type: str = "classic"  # AMQP_QUEUE_TYPE=quorum: replicated queues on a RabbitMQ cluster

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "files_manager.sqlite3"

    @classmethod
    def from_env(cls) -> EngineSettings:
        data_dir = Path(env_str("DATA_DIR", "./data")).resolve()
        mongo_database = env_str("DB_DATABASE", "files_manager")
        mongo_url: str | None = os.environ.get("MONGO_URL") or None
        if mongo_url is None and any(os.environ.get(v) for v in ("DB_HOST", "DB_PORT", "DB_DATABASE")):
            mongo_url = f"mongodb://{env_str('DB_HOST', 'localhost')}:{env_int('DB_PORT', 27017)}"
        redis_url: str | None = os.environ.get("REDIS_URL") or None
        if redis_url is None and any(os.environ.get(v) for v in ("REDIS_HOST", "REDIS_PORT")):
            redis_url = f"redis://{env_str('REDIS_HOST', '127.0.0.1')}:{env_int('REDIS_PORT', 6379)}/0"
        amqp_url: str | None = os.environ.get("AMQP_URL") or None
        return cls(
            data_dir=data_dir,
            mongo_url=mongo_url,
            mongo_database=mongo_database,
            redis_url=redis_url,
            amqp_url=amqp_url,
            internal_secret=_internal_secret(data_dir),
            amqp_queue_type=env_choice("AMQP_QUEUE_TYPE", ("classic", "quorum"), "classic"),
        )


def _internal_secret(data_dir: Path) -> bytes:
    """INTERNAL_SECRET, or a random one kept in DATA_DIR so that processes of one machine agree on it."""
    configured = os.environ.get("INTERNAL_SECRET", "")
    if configured:
        if EXAMPLE_SECRET_MARK in configured.lower():
            raise ConfigurationError(
                "INTERNAL_SECRET is still the example value of .env.example; set a random one "
                "(openssl rand -hex 32) and give every service the same"
            )
        if len(configured) < 32:
            raise ConfigurationError("INTERNAL_SECRET must be at least 32 characters")
        return configured.encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "internal.secret"
    if not path.exists():
        # Several processes start at once: each writes a candidate in full, then tries to publish it with
        # link(), which is atomic and fails if the name exists. Nobody can read a half-written secret.
        candidate = data_dir / f".internal.secret.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(candidate, path)
        finally:
            candidate.unlink()
    secret = path.read_bytes().strip()
    if len(secret) < 32:
        raise ConfigurationError(f"{path} holds no usable secret; remove it to have a new one made")
    return secret


MIB = 1024 * 1024
# Where gunicorn's workers keep their Prometheus samples (shared/gunicorn.py sets it, shared/metrics.py reads it).
PROMETHEUS_MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class UploadCaps:
    """What one upload may weigh: the file's bytes (MAX_UPLOAD_MB) and a JSON upload's whole body
    (MAX_JSON_UPLOAD_MB; base64 is ~4/3 of the file, so by default what MAX_UPLOAD_MB allows). The files
    service enforces them; the gateway reads the same variables to refuse `Expect: 100-continue` early."""

    file: int
    json_body: int

    @classmethod
    def from_env(cls) -> UploadCaps:
        file = env_int("MAX_UPLOAD_MB", 10240) * MIB
        return cls(file=file, json_body=env_int("MAX_JSON_UPLOAD_MB", 0) * MIB or file // 3 * 4 + MIB)


def folder_path() -> Path:
    """FOLDER_PATH resolved to an absolute path (stored localPath values must be absolute)."""
    return Path(env_str("FOLDER_PATH", "/tmp/files_manager")).resolve()  # noqa: S108 - the contract's default
