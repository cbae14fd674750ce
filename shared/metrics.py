"""Prometheus metrics (prometheus-client): what every service counts about its requests, and the one way
they are exposed at `/metrics`.

Under gunicorn a service runs several worker processes; each writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (set by the gunicorn configuration before any worker starts) and a scrape,
answered by whichever worker, aggregates them all. A service run as one process keeps them in memory.

Internal services answer `/metrics` on their own (internal) port, without the gateway's signature. The
gateway answers it only on METRICS_PORT, a second listening socket an operator opts into, never on the
public port.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from shared.errors import Handler
from shared.settings import PROMETHEUS_MULTIPROC_VARIABLE

METRICS_PATH = "/metrics"

# Seconds: from a cached /status (under a millisecond) to a large upload.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from a request's head to its answer",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("http_requests_in_flight", "Requests being served", ["service"], multiprocess_mode="livesum")
BYTES = Counter("http_body_bytes_total", "Body bytes received and sent", ["service", "direction"])

JOBS = Counter("jobs_total", "Jobs handled, by outcome", ["queue", "outcome"])
JOB_DURATION = Histogram("job_duration_seconds", "Time a job's handler ran", ["queue"], buckets=LATENCY_BUCKETS)
QUEUE_DEPTH = Gauge("queue_depth", "Jobs waiting in the queue, at the last scrape", ["queue"], multiprocess_mode="max")
HASH_WAIT = Histogram(
    "password_hash_wait_seconds",
    "Time a login or sign-up waited for a free password-hashing slot",
    buckets=LATENCY_BUCKETS,
)


def registry() -> CollectorRegistry:
    """The registry a scrape reads: every worker's files under gunicorn, else this process's own."""
    if os.environ.get(PROMETHEUS_MULTIPROC_VARIABLE):
        aggregated = CollectorRegistry()
        multiprocess.MultiProcessCollector(aggregated)  # type: ignore[no-untyped-call]
        return aggregated
    return REGISTRY


Refresh = Callable[[], Awaitable[None]]

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(
    service: str, method: str, route: str, status: int, seconds: float, received: int, sent: int
) -> None:
    """One answered request. Labels are bounded: the route template, never the path; unknown methods as one."""
    method = method if method in KNOWN_METHODS else "OTHER"
    REQUESTS.labels(service, method, route, str(status)).inc()
    LATENCY.labels(service, method, route).observe(seconds)
    if received:
        BYTES.labels(service, "in").inc(received)
    if sent:
        BYTES.labels(service, "out").inc(sent)


def local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if isinstance(sockname, tuple) and len(sockname) >= 2 else None


def setup_metrics(app: web.Application, refresh: Refresh | None = None, port: int | None = None) -> None:
    """GET /metrics in Prometheus' text format; `refresh` updates gauges read at scrape time (queue depth).

    With `port` (the gateway's METRICS_PORT), /metrics is answered only on connections to that port, and
    nothing else is: the public port never shows it."""

    async def metrics(request: web.Request) -> web.Response:
        if port is not None and local_port(request) != port:
            raise web.HTTPNotFound()
        if refresh is not None:
            await refresh()
        body = generate_latest(registry())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get(METRICS_PATH, metrics)
    if port is None:
        return

    @web.middleware
    async def metrics_port_only(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != METRICS_PATH and local_port(request) == port:
            raise web.HTTPNotFound()
        return await handler(request)

    app.middlewares.append(metrics_port_only)
