"""Request ids: every HTTP request gets one, in its log lines and its response.

A caller (or nginx, with `proxy_set_header X-Request-ID $request_id`) may pass
`X-Request-ID`; a well-formed one is kept so that one id follows a request
through the proxy and the node, anything else is replaced by a fresh id.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.metrics import Metrics

log = logging.getLogger("switchboard.http")

HEADER = b"x-request-id"
# Probes and scrapes would drown the log; they still get an id and a header.
_QUIET_PATHS = frozenset({"/healthz", "/metrics"})
_VALID = re.compile(rb"[A-Za-z0-9._\-]{8,64}")


class RequestIdMiddleware:
    """Pure ASGI middleware: binds `request_id` in structlog's contextvars."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        # A random prefix per process and a counter: unique without a uuid4's
        # urandom call on every request (a syscall on the hottest HTTP path).
        prefix = secrets.token_hex(6)
        self._fresh_ids = (f"{prefix}{n:08x}" for n in itertools.count())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(HEADER, b"")
        request_id = given.decode() if _VALID.fullmatch(given) else next(self._fresh_ids)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode()))
                message["headers"] = headers
                if self.metrics is not None:
                    self.metrics.http_response(message["status"])
            await send(message)

        with structlog.contextvars.bound_contextvars(
            request_id=request_id, method=scope.get("method"), path=scope.get("path")
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if scope.get("path") not in _QUIET_PATHS:
                    log.info(
                        "http request",
                        extra={
                            "status": status,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        },
                    )
