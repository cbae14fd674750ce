"""Log lines: plain text or one JSON object each (`LOG_FORMAT`), every line carrying the id of the request
that caused it; one access line per request; a client's malformed request logged at INFO, never as our error.

The same configuration serves `python -m services.<name>` (`configure`) and gunicorn (`logging_config` as its
`logconfig_dict`, so its own lines share the format). A request id comes from a well-formed `X-Request-Id`
or is made at the gateway, travels in that header on every internal call and in each job it causes, and is
echoed in the response.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from shared.errors import Handler
from shared.identity import CALLER_KEY, OPEN_PATHS
from shared.metrics import IN_FLIGHT, observe_request
from shared.settings import ConfigurationError, env_choice

REQUEST_ID_HEADER = "X-Request-Id"
# Ids made elsewhere (a load balancer's, a client's trace id) are kept when they are this plain; anything
# else (spaces, quotes, control bytes, a kilobyte of text) is replaced, so a log line cannot be forged.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")
NO_REQUEST = "-"

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)
REQUEST_ID_KEY = web.RequestKey("request_id", str)

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(service)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"

access_log = logging.getLogger("access")


def well_formed(value: str | None) -> str | None:
    return value if value is not None and _WELL_FORMED.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Stamps every record with the service's name and the current request's id."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class ClientMistakeFilter(logging.Filter):
    """aiohttp logs a request its parser refused ("Error handling request") at ERROR with a traceback, and the
    exception's text quotes the raw bytes (part of an Authorization header among them): anyone could fill the
    log. Such a record becomes one INFO line naming only the kind of mistake."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "malformed request refused (%s %s)", (exc.code, type(exc).__name__)
            record.exc_info, record.exc_text = None, None
        return True


def log_format() -> str:
    return env_choice("LOG_FORMAT", FORMATS, "text")


def logging_config(service: str) -> dict[str, Any]:
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in logging.getLevelNamesMapping():
        raise ConfigurationError(f"LOG_LEVEL must be a logging level name, got {level!r}")
    formatter: dict[str, Any] = {"format": TEXT_FORMAT}
    if log_format() == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC, with microseconds
        }
    handler = {"class": "logging.StreamHandler", "formatter": "main", "filters": ["context"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {
            "context": {"()": ContextFilter, "service": service},
            "client_mistakes": {"()": ClientMistakeFilter},
        },
        "handlers": {"stderr": {**handler, "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # Where aiohttp's server logs under `python -m` and under gunicorn (its worker passes gunicorn's).
            "aiohttp.server": {"filters": ["client_mistakes"]},
            "gunicorn.error": {
                "level": level,
                "handlers": ["stderr"],
                "propagate": False,
                "filters": ["client_mistakes"],
            },
            "gunicorn.access": {"level": "CRITICAL", "propagate": False},  # ours is the `access` logger
        },
    }


def configure(service: str) -> None:
    logging.config.dictConfig(logging_config(service))


def setup_request_logging(app: web.Application, service: str, make_ids: bool) -> None:
    """The outermost middleware: the request id (kept when well formed; made here when `make_ids`, as at the
    gateway), then one access line and the request's metrics once the answer is known. Never a query string,
    token or header value. Health checks and scrapes are neither logged nor counted."""
    in_flight = IN_FLIGHT.labels(service)

    async def tag_answer(request: web.Request, response: web.StreamResponse) -> None:
        # On every answer as its headers go out, streamed ones (prepared inside a handler) included.
        request_id = request.get(REQUEST_ID_KEY, NO_REQUEST)
        if request_id != NO_REQUEST:
            response.headers[REQUEST_ID_HEADER] = request_id

    app.on_response_prepare.append(tag_answer)

    @web.middleware
    async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        request_id = well_formed(request.headers.get(REQUEST_ID_HEADER))
        if request_id is None:
            request_id = new_request_id() if make_ids else NO_REQUEST
        reset = REQUEST_ID.set(request_id)
        request[REQUEST_ID_KEY] = request_id
        started = time.perf_counter()
        status, sent = 500, 0
        in_flight.inc()
        try:
            response = await handler(request)
            status = response.status
            sent = response.body_length if response.prepared else (response.content_length or 0)
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            in_flight.dec()
            _finished(service, request, status, sent, time.perf_counter() - started)
            REQUEST_ID.reset(reset)

    app.middlewares.insert(0, request_log_middleware)


def _finished(service: str, request: web.Request, status: int, sent: int, seconds: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "(no route)"
    received = request.content.total_bytes
    observe_request(service, request.method, route, status, seconds, received, sent)
    if not access_log.isEnabledFor(logging.INFO):
        return
    caller = request.get(CALLER_KEY)
    user = caller.user_id if caller is not None else ""
    access_log.info(
        "%s %s %d %.1fms in=%d out=%d user=%s",
        request.method,
        route,
        status,
        seconds * 1000,
        received,
        sent,
        user or "-",
        extra={
            "method": request.method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "bytes_in": received,
            "bytes_out": sent,
            "user_id": user or None,
        },
    )
