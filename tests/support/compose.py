"""The services exactly as docker-compose.yml runs them (gunicorn, same commands and environment), on
this machine: only engine URLs, bind addresses, ports, paths and the secret are rewritten."""

from __future__ import annotations

import secrets
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.engines import Backends
from tests.support.stack import ROOT, SERVICES, Stack

COMPOSE_FILE = ROOT / "docker-compose.yml"


def compose_services() -> dict[str, Any]:
    with open(COMPOSE_FILE) as handle:
        return dict(yaml.safe_load(handle)["services"])


class ComposeStack(Stack):
    stop_signal = signal.SIGTERM  # what `docker compose stop` sends

    def __init__(self, backends: Backends, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        if not backends.real:
            raise ValueError("the compose harness runs on the real engines (FM_BACKENDS=engines)")
        super().__init__(backends, workdir, extra_env)
        self.compose = compose_services()
        self.secret = secrets.token_hex(32)

    def command(self, name: str) -> list[str]:
        command = [str(part) for part in self.compose[name]["command"]]
        if command[0] == "gunicorn":
            command[0] = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        elif command[0] == "python":
            command[0] = sys.executable
        return command

    def service_env(self, name: str) -> dict[str, str]:
        declared = {key: str(value) for key, value in self.compose[name].get("environment", {}).items()}
        rewritten = {
            "MONGO_URL": str(self.backends.mongo_url),
            "DB_DATABASE": str(self.backends.mongo_database),
            "REDIS_URL": str(self.backends.redis_url),
            "AMQP_URL": str(self.backends.amqp_url),
            "DATA_DIR": str(self.data_dir),
            "FOLDER_PATH": str(self.folder),
            "INTERNAL_SECRET": self.secret,  # compose reads it from .env
            "HOST": "127.0.0.1",
            "AUTH_HOST": "127.0.0.1",
            "FILES_HOST": "127.0.0.1",
            "THUMBNAILER_HOST": "127.0.0.1",
            "PORT": str(self.ports["gateway"]),
            "AUTH_PORT": str(self.ports["auth"]),
            "FILES_PORT": str(self.ports["files"]),
            "THUMBNAILER_PORT": str(self.ports["thumbnailer"]),
            "AUTH_URL": self.service_url("auth"),
            "FILES_URL": self.service_url("files"),
        }
        env = {key: rewritten.get(key, value) for key, value in declared.items()}
        missing = NEEDS[name] - set(env)
        if missing:
            raise AssertionError(f"docker-compose.yml gives {name} no {sorted(missing)}")
        # The process environment (PATH, HOME…) as a container has one, then the service's own.
        base = {k: v for k, v in self.env.items() if k in ("PATH", "HOME", "LANG", "PYTHONUNBUFFERED", "TMPDIR")}
        return {
            **base,
            **env,
            "INTERNAL_SECRET": self.secret,
            "THUMBNAIL_RECONCILE_INTERVAL": "1",
            # Quick, yet not below what the files service allows (twice the job publish timeout: 6 s with
            # RabbitMQ, 20 s with the SQLite queue, which raises it); production waits 60 s.
            "THUMBNAIL_RECONCILE_AFTER": "6",
            **self.extra_env,
        }


# What each service must be given to run on the production engines, and nothing it does not use.
NEEDS = {
    "auth": {"MONGO_URL", "REDIS_URL", "AMQP_URL"},
    "files": {"MONGO_URL", "AMQP_URL", "FOLDER_PATH"},
    "thumbnailer": {"AMQP_URL", "FOLDER_PATH", "FILES_URL"},
    "gateway": {"REDIS_URL", "AUTH_URL", "FILES_URL"},
}

assert set(SERVICES) <= set(compose_services()), "docker-compose.yml must define every service"
