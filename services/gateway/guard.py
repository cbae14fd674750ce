"""The public port's guard against slow and numerous clients: a deadline for each request's head and a cap
on open connections per worker. aiohttp has neither (its keep-alive timer, 75 s here, is the only limit on
a connection that trickles its headers), so the gateway runs its app on this runner.

- Head deadline (HEADER_TIMEOUT): from the first byte of a request's head to its last. A connection that has
  not completed its head by then is closed; idle keep-alive connections are left to the keep-alive timer.
- Connection cap (MAX_CONNECTIONS, per worker process): a connection past it gets a 503 with Retry-After
  and is closed at once, so the ones already open keep their latency.

gunicorn runs `serve` (an async factory returning this runner) in each worker; aiohttp's worker uses a
runner it is given as it is, so the keep-alive and shutdown settings are passed here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

REFUSALS_LOG_INTERVAL = 12.0  # seconds
OVERLOADED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
    b'Retry-After: 1\r\nConnection: close\r\nContent-Length: 31\r\n\r\n{"error":"Service unavailable"}'
)


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol, plus the head deadline. It reads `_request_count`, `_messages` and
    `_request_in_progress`, which aiohttp keeps on the handler (tests/api/test_edges.py breaks if
    they change)."""

    __slots__ = ("_head_timeout", "_head_timer", "_count_at_arming")

    def __init__(self, manager: web.Server, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._count_at_arming = 0

    def data_received(self, data: bytes) -> None:
        idle = not self._messages and not self._request_in_progress
        if idle and self._head_timer is None and self._head_timeout > 0:
            # The first bytes of a new request's head: its clock starts now.
            self._count_at_arming = self._request_count
            self._head_timer = self._loop.call_later(self._head_timeout, self._head_overdue)
        super().data_received(data)
        if self._head_timer is not None and self._request_count != self._count_at_arming:
            self._head_timer.cancel()  # the head is complete
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self._request_count == self._count_at_arming and self.transport is not None:
            log.info("closed a connection whose request head took over %.0f s", self._head_timeout)
            self.force_close()
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


class _Refusal(asyncio.Protocol):
    """What a connection past the cap gets: a 503 and a close, without reading anything."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        writable = cast(asyncio.WriteTransport, transport)  # uvloop's transports are not asyncio's classes
        writable.write(OVERLOADED)
        writable.close()


class GuardedServer(web.Server):
    def __init__(self, *args: Any, head_timeout: float, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timeout = head_timeout
        self._max_connections = max_connections
        self._refused = 0
        self._refusals_logged_at = 0.0

    def __call__(self) -> RequestHandler:
        if 0 < self._max_connections <= len(self._connections):
            self._refused += 1
            now = self._loop.time()
            if now - self._refusals_logged_at >= REFUSALS_LOG_INTERVAL:  # one line, not one per connection
                log.warning(
                    "connection cap of %d reached: %d connection(s) refused with 503",
                    self._max_connections,
                    self._refused,
                )
                self._refused, self._refusals_logged_at = 0, now
            return _Refusal()  # type: ignore[return-value]  # the loop needs a protocol, nothing more
        return GuardedRequestHandler(self, loop=self._loop, head_timeout=self._head_timeout, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    def __init__(self, app: web.Application, *, head_timeout: float, max_connections: int, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._head_timeout = head_timeout
        self._max_connections = max_connections

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app, as AppRunner does
        # The same server, but making guarded handlers: its `_kwargs` hold what the app passes to each
        # handler (debug, access log class, handler_args).
        return GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            head_timeout=self._head_timeout,
            max_connections=self._max_connections,
            **plain._kwargs,
        )


def guarded_runner(app: web.Application, head_timeout: float, max_connections: int) -> GuardedAppRunner:
    return GuardedAppRunner(
        app,
        head_timeout=head_timeout,
        max_connections=max_connections,
        access_log=None,  # ours is the request-log middleware
        keepalive_timeout=float(os.environ.get("KEEPALIVE_TIMEOUT", "75")),
        shutdown_timeout=float(os.environ.get("GRACEFUL_TIMEOUT", "30")) * 0.95,
    )
