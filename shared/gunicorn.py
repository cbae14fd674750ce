"""The gunicorn policy every HTTP service shares; each service's gunicorn_conf.py names only its address."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Prometheus' multiprocess mode (shared/metrics.py): the workers share one directory of samples. The
# variable must be set before prometheus_client is first imported (it picks its value store then), in the
# master, so that every forked worker inherits both; hence here, before the imports below.
from shared.settings import PROMETHEUS_MULTIPROC_VARIABLE as MULTIPROC_VARIABLE

_MADE_HERE = not os.environ.get(MULTIPROC_VARIABLE)
if _MADE_HERE:
    os.environ[MULTIPROC_VARIABLE] = tempfile.mkdtemp(prefix="files-manager-metrics-")

from shared.logs import logging_config  # noqa: E402
from shared.runner import LISTEN_BACKLOG, available_cores, raise_open_files_limit  # noqa: E402


def _on_starting(server: Any) -> None:
    """Samples of an earlier run in an operator's own directory would be added to this run's."""
    for stale in Path(os.environ[MULTIPROC_VARIABLE]).glob("*.db"):
        stale.unlink()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # its in-flight gauge no longer counts


def _on_exit(server: Any) -> None:
    if _MADE_HERE:
        shutil.rmtree(os.environ[MULTIPROC_VARIABLE], ignore_errors=True)


def default_workers(cores_per_worker: int | None) -> int:
    """One worker per `cores_per_worker` cores, at least one; None: always one (docs/adr/0013)."""
    return 1 if cores_per_worker is None else max(1, available_cores() // cores_per_worker)


def gunicorn_settings(
    service: str, host_var: str, default_host: str, port_var: str, default_port: int, cores_per_worker: int | None
) -> dict[str, Any]:
    """`cores_per_worker`: the default worker count's share of the machine (WEB_CONCURRENCY overrides it)."""
    raise_open_files_limit()  # in the master, before it forks the workers
    return {
        "backlog": LISTEN_BACKLOG,
        "bind": f"{os.environ.get(host_var, default_host)}:{os.environ.get(port_var, str(default_port))}",
        # uvloop: a tenth to a quarter less CPU per proxied request (docs/adr/0008). Its loop has no sendfile(),
        # so file responses are sent in chunks read by a thread (shared/fileresponse.py).
        "worker_class": "aiohttp.GunicornUVLoopWebWorker",
        "workers": int(os.environ.get("WEB_CONCURRENCY") or default_workers(cores_per_worker)),
        # SIGTERM: stop accepting, let in-flight requests (a long download) finish for up to this long;
        # the aiohttp worker gives its handlers 95% of it.
        "graceful_timeout": int(os.environ.get("GRACEFUL_TIMEOUT", "30")),
        "timeout": 60,  # worker heartbeat: an event loop blocked this long is restarted
        # Longer than the idle timeout of the load balancer or gateway pool in front, so that it closes first.
        "keepalive": 75,
        # No access log: request lines carry query strings, and nothing about a request may leak a token.
        "accesslog": None,
        "errorlog": "-",
        # gunicorn's own lines and the app's share one format (LOG_FORMAT) and the request id filter.
        "logconfig_dict": logging_config(service),
        "loglevel": os.environ.get("LOG_LEVEL", "info").lower(),
        # gunicorn's control socket defaults to one path under $HOME, shared by every master on the host.
        "control_socket_disable": True,
        "on_starting": _on_starting,
        "child_exit": _child_exit,
        "on_exit": _on_exit,
    }
