"""Bounded request bodies: 413 before a body over `SWITCHBOARD_MAX_BODY_BYTES` is read.

Pure ASGI, in front of both the HTTP API and the Engine.IO polling endpoint,
so neither side ever holds more than the limit of one request in memory:

- a `Content-Length` over the limit is answered 413 without reading a byte;
- a chunked (or understated) body is counted while it streams; at the first
  chunk past the limit the client gets 413, the application is told the
  client went away (`http.disconnect`), and whatever it answers after that
  is dropped.

The 413 carries `Connection: close` so that the server stops reading the rest
of the upload instead of draining it into the next keep-alive request; so
does any answer given before the app read the whole body (a 401 or 404 to a
huge upload).
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.errors import TooLargeError

log = logging.getLogger("switchboard.http")

_REFUSAL = TooLargeError("request body too large")
_BODY = json.dumps(_REFUSAL.to_body()).encode()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


def _has_body(scope: Scope) -> bool:
    """A body without a length: `Transfer-Encoding: chunked`."""
    return any(
        name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope.get("headers") or []
    )


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` (`prefix_limits` may set lower ones by path)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, prefix_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix_limits = sorted((prefix_limits or {}).items(), key=lambda kv: -len(kv[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.prefix_limits:
            if path.startswith(prefix):
                return min(limit, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            self._log(scope, limit, f"Content-Length {declared}")
            await _refuse(send)
            return

        received = 0
        refused = False
        response_started = False
        # Until the app has read the whole body, answering leaves the rest of
        # the upload on the connection: the server would read and discard it all.
        body_pending = declared != 0 and (declared is not None or _has_body(scope))

        async def limited_receive() -> Message:
            nonlocal received, refused, body_pending
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                body_pending = bool(message.get("more_body", False))
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    self._log(scope, limit, f"more than {limit} bytes streamed")
                    if not response_started:
                        await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # our 413 is the answer; the app's own reply comes too late
            if message["type"] == "http.response.start":
                response_started = True
                if body_pending:
                    # Answered without reading the body (a 401, a 404): close
                    # instead of draining an upload nobody wants.
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"
                    ]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The app tripped over the body it was denied (Engine.IO's request
            # translation does, on a disconnect): the client has its 413 already.

    @staticmethod
    def _log(scope: Scope, limit: int, what: str) -> None:
        client = scope.get("client")
        log.warning(
            "request body over the limit refused: %s %s from %s (%s, limit %d bytes)",
            scope.get("method"),
            scope.get("path"),
            client[0] if client else "?",
            what,
            limit,
        )


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": _REFUSAL.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_BODY)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BODY})
