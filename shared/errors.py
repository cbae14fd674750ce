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

    def headers(self) -> dict[str, str]:
        return {}


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


class ExpectationFailedError(DomainError):
    def __init__(self, message: str = "Expectation failed") -> None:
        super().__init__(message)


class ConflictError(DomainError):
    """The request is well formed but contradicts the current state."""


class UnsupportedMediaError(DomainError):
    pass


class TooManyRequestsError(DomainError):
    def __init__(self, retry_after: int, message: str = "Too many requests") -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InsufficientStorageError(DomainError):
    def __init__(self, message: str = "Insufficient storage") -> None:
        super().__init__(message)


class DataIntegrityError(DomainError):
    """Stored data contradicts its record (a truncated blob): the server's fault, said plainly."""


class UnavailableError(DomainError):
    """A dependency (database, token store, broker, upstream) does not answer."""

    def __init__(self, message: str = "Service unavailable") -> None:
        super().__init__(message)


class GatewayTimeoutError(DomainError):
    """An upstream service took the connection but did not answer in time."""

    def __init__(self, message: str = "Gateway timeout") -> None:
        super().__init__(message)


STATUS_BY_ERROR: dict[type[DomainError], int] = {
    ValidationError: 400,
    AuthenticationError: 401,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    ExpectationFailedError: 417,
    UnsupportedMediaError: 415,
    TooManyRequestsError: 429,
    InsufficientStorageError: 507,
    DataIntegrityError: 500,
    UnavailableError: 503,
    GatewayTimeoutError: 504,
}


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


FailureRule = Callable[[BaseException], int | None]

# How long a request waits for an engine's shared resource (a pooled connection, another process's write
# lock) before the wait fails and it is answered 503.
ENGINE_WAIT_SECONDS = 10.0


def failure_rule(
    unavailable: tuple[type[BaseException], ...] = (), full: tuple[type[BaseException], ...] = ()
) -> FailureRule:
    """A driver's exception types that mean its engine does not answer (503) or is full (507)."""

    def rule(exc: BaseException) -> int | None:
        if isinstance(exc, full):
            return 507
        if isinstance(exc, unavailable):
            return 503
        return None

    return rule


class Failures:
    """What an engine's exception means for the client. Each adapter adds its driver's rule when the app sets
    it up (`add_failure_rule`), so this module imports no driver. An exception no rule claims is our own bug:
    500, logged with its traceback (a broad `ConnectionError` or `OperationalError` is not an outage)."""

    def __init__(self) -> None:
        self.rules: list[FailureRule] = []

    def status(self, exc: BaseException) -> int | None:
        for rule in self.rules:
            status = rule(exc)
            if status is not None:
                return status
        return None


FAILURES_KEY = web.AppKey("failures", Failures)


def add_failure_rule(app: web.Application, rule: FailureRule) -> None:
    if FAILURES_KEY not in app:
        app[FAILURES_KEY] = Failures()
    app[FAILURES_KEY].rules.append(rule)


def client_gone(request: web.Request) -> bool:
    """The client closed its connection: reading its body raised, and no answer can reach it."""
    transport = request.transport
    return transport is None or transport.is_closing()


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response({"error": message}, status=status, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_errors(app: web.Application) -> None:
    """Map domain errors, engine outages and aiohttp's own HTTP errors to `{"error": ...}` bodies."""
    if FAILURES_KEY not in app:
        app[FAILURES_KEY] = Failures()
    failures = app[FAILURES_KEY]

    @web.middleware
    async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except DomainError as exc:
            return json_error(status_for(exc), exc.message, headers=exc.headers())
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                raise
            message = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}.get(
                exc.status, exc.reason
            )
            return json_error(exc.status, message, headers=_allowed(exc))
        except Exception as exc:
            status = failures.status(exc)
            if status == 503:
                log.warning("dependency unavailable on %s %s: %r", request.method, request.path, exc)
                return json_error(503, "Service unavailable", headers={"Retry-After": "1"})
            if status == 507:
                log.error("storage full on %s %s: %r", request.method, request.path, exc)
                return json_error(507, "Insufficient storage")
            if isinstance(exc, ConnectionError) and client_gone(request):
                # Nobody will read the answer; 499 (as nginx logs it) marks the request in logs and metrics.
                log.info("client went away during %s %s", request.method, request.path)
                return json_error(499, "Client closed the request")
            log.exception("unhandled error on %s %s", request.method, request.path)
            return json_error(500, "Internal server error")

    app.middlewares.append(error_middleware)


def _allowed(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
