"""Which browser origins may talk to us, enforced on HTTP CORS and the Socket.IO handshake.

The `auth_token` cookie rides along on any request a browser makes, so a
foreign page could open a WebSocket with the user's identity (cross-site
WebSocket hijacking) unless the handshake's `Origin` is checked. Default: the
server's own origin only. Requests without `Origin` (non-browser clients) pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.transport import RequestHead


def _headers(scope: Scope) -> Mapping[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class OriginPolicy:
    def __init__(self, allowed: list[str]) -> None:
        self.allowed = frozenset(o.rstrip("/") for o in allowed)

    @staticmethod
    def own_origins(headers: Mapping[str, str], scheme: str) -> set[str]:
        host = headers.get("x-forwarded-host") or headers.get("host")
        if not host:
            return set()
        scheme = headers.get("x-forwarded-proto") or scheme
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return {f"{scheme}://{host}"}

    def allows_headers(self, headers: Mapping[str, str], scheme: str) -> bool:
        """For a request's lower-case headers: no `Origin`, an allowed one, or our own."""
        origin = headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/")
        return origin in self.allowed or origin in self.own_origins(headers, scheme)

    def allows(self, scope: Scope) -> bool:
        return self.allows_headers(_headers(scope), scope.get("scheme", "http"))

    def allows_cross_origin(self, origin: str) -> bool:
        """A foreign origin named in the settings (its answers carry CORS headers)."""
        return origin.rstrip("/") in self.allowed

    def check_upgrade(self, request: RequestHead) -> int | None:
        """The fast WebSocket path's check: 403 for a foreign origin."""
        return None if self.allows_headers(request.headers, request.scheme) else 403


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """HTTP 403 with no session, on both transports."""
    if scope["type"] == "websocket":
        # Closing before accept makes the server answer the upgrade with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    body = b'{"detail":"origin not allowed"}'
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SocketIOMount:
    """Routes `/socket.io/` to the Socket.IO server (after the origin check), the rest to HTTP."""

    def __init__(self, http_app: ASGIApp, socketio_app: ASGIApp, policy: OriginPolicy) -> None:
        self.http_app = http_app
        self.socketio_app = socketio_app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (
            scope["path"] == "/socket.io" or scope["path"].startswith("/socket.io/")
        ):
            if not self.policy.allows(scope):
                await refuse(scope, receive, send)
                return
            await self.socketio_app(scope, receive, send)
            return
        await self.http_app(scope, receive, send)
