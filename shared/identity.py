"""The gateway's signed statement of who is calling, and its check in every internal service."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from shared.errors import Handler
from shared.http import json_response
from shared.metrics import METRICS_PATH

USER_HEADER = "X-FM-User"
TIMESTAMP_HEADER = "X-FM-Timestamp"
SIGNATURE_HEADER = "X-FM-Signature"
IDENTITY_PREFIX = "x-fm-"
MAX_SKEW_SECONDS = 30

ANONYMOUS = ""


@dataclass(frozen=True)
class Caller:
    """Who the gateway says is calling: a user id (24 hex) or anonymous."""

    user_id: str

    @property
    def anonymous(self) -> bool:
        return self.user_id == ANONYMOUS


CALLER_KEY = web.RequestKey("caller", Caller)


def _message(user_id: str, method: str, raw_path: str, timestamp: str) -> bytes:
    # surrogatepass: a raw path's undecodable bytes reach here as surrogates; they are signed, not a 500.
    return "\n".join((user_id, method.upper(), raw_path, timestamp)).encode("utf-8", "surrogatepass")


def sign(secret: bytes, user_id: str, method: str, raw_path: str, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    digest = hmac.new(secret, _message(user_id, method, raw_path, timestamp), hashlib.sha256).hexdigest()
    return {USER_HEADER: user_id, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: digest}


def verify(
    secret: bytes, headers: Mapping[str, str], method: str, raw_path: str, now: float | None = None
) -> Caller | None:
    """The caller if the headers carry a fresh, valid signature for this request; None otherwise."""
    user_id = headers.get(USER_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if user_id is None or timestamp is None or signature is None:
        return None
    # Headers are whatever a client put on the wire: only ASCII digits are a timestamp (`"²".isdigit()`
    # holds), and compare_digest refuses non-ASCII strings.
    if not (timestamp.isascii() and timestamp.isdigit() and signature.isascii() and user_id.isascii()):
        return None
    current = now if now is not None else time.time()
    if abs(current - int(timestamp)) > MAX_SKEW_SECONDS:
        return None
    expected = hmac.new(secret, _message(user_id, method, raw_path, timestamp), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return None
    return Caller(user_id)


def is_identity_header(name: str) -> bool:
    """True for any spelling of an internal identity header (case, `_` for `-`), which clients may not send."""
    normalised = name.lower().replace("_", "-")
    return normalised.startswith(IDENTITY_PREFIX) or normalised in {"x-user-id", "x-forwarded-user"}


OPEN_PATHS = frozenset({"/healthz", "/readyz", METRICS_PATH})  # probes and scrapes carry no signature


def setup_identity(app: web.Application, secret: bytes) -> None:
    """Refuse every request but health checks that lacks the gateway's signature."""

    @web.middleware
    async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        caller = verify(secret, request.headers, request.method, request.raw_path)
        if caller is None:
            return json_response({"error": "Unauthorized"}, status=401)
        request[CALLER_KEY] = caller
        return await handler(request)

    app.middlewares.append(identity_middleware)


def caller_of(request: web.Request) -> Caller:
    return request[CALLER_KEY]
