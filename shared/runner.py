"""Running one service in the foreground (`python -m services.<name>`), outside gunicorn."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from aiohttp import web


def setup_logging(service: str) -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
    )


def run(service: str, factory: Callable[[], web.Application], host: str, port: int) -> None:
    setup_logging(service)
    if service == "gateway":
        print(f"Server running on port {port}", flush=True)
    # No access log: it would print query strings, and tokens must never reach a log line.
    web.run_app(
        factory(),
        host=host,
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=float(os.environ.get("SHUTDOWN_TIMEOUT", "25")),
    )
