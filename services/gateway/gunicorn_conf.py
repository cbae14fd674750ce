"""gunicorn settings of the gateway service, the one place for them (compose, `make run` and the test
harnesses use it):

gunicorn --config python:services.gateway.gunicorn_conf services.gateway.app:serve

One worker per core by default (WEB_CONCURRENCY overrides it): the gateway holds no state, and on two
cores a second worker nearly doubled 1 KiB downloads and `/status` through it (ADR 8, ADR 13).
"""

import os
from typing import Any

from shared.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("gateway", "HOST", "0.0.0.0", "PORT", 5000, cores_per_worker=1))
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
