"""Domain errors (no HTTP in them) and the one middleware that turns them into JSON responses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from shared.http import json_response

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of the errors a client can cause or see; `message` goes out verbatim."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """The request is malformed or breaks a rule: nothing was changed."""


class AuthenticationError(DomainError):
    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class NotFoundError(DomainError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message)


class PayloadTooLargeError(DomainError):
    def __init__(self, message: str = "Payload too large") -> None:
        super().__init__(message)


class ConflictError(DomainError):
    """The request is well formed but contradicts the current state."""


class UnsupportedMediaError(DomainError):
    pass


class InsufficientStorageError(DomainError):
    def __init__(self, message: str = "Insufficient storage") -> None:
        super().__init__(message)


class DataIntegrityError(DomainError):
    """Stored data contradicts its record (a truncated blob): the server's fault, said plainly."""


class UnavailableError(DomainError):
    """A dependency (database, token store, broker, upstream) does not answer."""

    def __init__(self, message: str = "Service unavailable") -> None:
        super().__init__(message)


STATUS_BY_ERROR: dict[type[DomainError], int] = {
    ValidationError: 400,
    AuthenticationError: 401,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    UnsupportedMediaError: 415,
    InsufficientStorageError: 507,
    DataIntegrityError: 500,
    UnavailableError: 503,
}


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


class Outages:
    """The exception types that mean a dependency is down, not that the client erred. Each adapter adds its
    own driver's types when the app sets it up (`add_outages`), so this module imports no driver."""

    def __init__(self) -> None:
        self.types: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


OUTAGES_KEY = web.AppKey("outages", Outages)


def add_outages(app: web.Application, types: tuple[type[BaseException], ...]) -> None:
    if OUTAGES_KEY not in app:
        app[OUTAGES_KEY] = Outages()
    registry = app[OUTAGES_KEY]
    registry.types = (*registry.types, *(t for t in types if t not in registry.types))


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response({"error": message}, status=status, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_errors(app: web.Application) -> None:
    """Map domain errors, engine outages and aiohttp's own HTTP errors to `{"error": ...}` bodies."""
    add_outages(app, ())
    outages = app[OUTAGES_KEY]

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except DomainError as exc:
            return json_error(status_for(exc), exc.message)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                raise
            message = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}.get(
                exc.status, exc.reason
            )
            return json_error(exc.status, message, headers=_allowed(exc))
        except Exception as exc:
            if not isinstance(exc, outages.types):
                log.exception("unhandled error on %s %s", request.method, request.path)
                return json_error(500, "Internal server error")
            log.warning("dependency unavailable on %s %s: %r", request.method, request.path, exc)
            return json_error(503, "Service unavailable", headers={"Retry-After": "1"})

    app.middlewares.append(error_middleware)


def _allowed(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
