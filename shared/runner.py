"""Running one service in the foreground (`python -m services.<name>`), outside gunicorn."""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable
from typing import Protocol, TypeVar

import uvloop
from aiohttp import web

from shared.logs import configure as configure_logging
from shared.settings import ConfigurationError

# Pending connections the kernel holds for accept(); a burst of a thousand clients must queue, not be dropped.
LISTEN_BACKLOG = 2048


def raise_open_files_limit() -> None:
    """Lift the soft limit on open files to the hard one: each proxied request holds two sockets, and a
    soft limit of 1,024 (a common default) would refuse connections long before the CPU is busy."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def available_cores() -> int:
    """The cores this process may run on (a container's cpuset, a taskset), not the host's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def make_run_command(name: str) -> list[str]:
    """How `make run` (and the test harness in its shape) starts a service: the gateway under gunicorn with
    its workers (stateless, and the second worker pays on two cores: ADR 8); the others as one process each,
    since on the embedded defaults they share one SQLite file with a single writer."""
    if name == "gateway":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:services.gateway.gunicorn_conf",
            "services.gateway.app:serve",
        ]
    return [sys.executable, "-m", f"services.{name}"]


class ServiceSettings(Protocol):
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


S = TypeVar("S", bound=ServiceSettings)


def run(service: str, read_settings: Callable[[], S], factory: Callable[[S], web.Application]) -> None:
    raise_open_files_limit()
    try:
        configure_logging(service)
        settings = read_settings()
        app = factory(settings)
    except ConfigurationError as exc:
        # One line an operator can act on, not a traceback.
        print(f"{service}: configuration error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    host, port = settings.host, settings.port
    if service == "gateway":
        print(f"Server running on port {port}", flush=True)
    # No access log: it would print query strings, and tokens must never reach a log line.
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=None,
        backlog=LISTEN_BACKLOG,
        loop=uvloop.new_event_loop(),  # as under gunicorn (shared/gunicorn.py)
        shutdown_timeout=float(os.environ.get("SHUTDOWN_TIMEOUT", "25")),
    )
