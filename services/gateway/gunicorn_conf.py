"""gunicorn settings of the gateway service, the one place for them (compose, `make run` and the test
harnesses use it):

gunicorn --config python:services.gateway.gunicorn_conf services.gateway.app:serve

Two workers by default (WEB_CONCURRENCY): the gateway holds no state, and on two cores a second worker
nearly doubled 1 KiB downloads through it (the file response's thread hops are its cost) and added
a few per cent elsewhere (ADR 8).
"""

import os
from typing import Any

from shared.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("gateway", "HOST", "0.0.0.0", "PORT", 5000, workers=2))
proc_name = "files-manager-gateway"

# METRICS_PORT: a second listening socket, where the gateway answers GET /metrics and nothing else
# (the public port never does). Off unless set.
if os.environ.get("METRICS_PORT"):
    bind = [
        globals()["bind"],
        f"{os.environ.get('METRICS_HOST') or os.environ.get('HOST', '0.0.0.0')}:{os.environ['METRICS_PORT']}",  # noqa: S104
    ]


def when_ready(server: Any) -> None:
    """The original's start-up line, once the port is bound."""
    port = server.address[0][1] if server.address and isinstance(server.address[0], tuple) else "?"
    print(f"Server running on port {port}", flush=True)
