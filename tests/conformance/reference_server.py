"""A server built from Switchboard's transport, set up as the official protocol suites expect.

    python tests/conformance/reference_server.py --suite socket.io --port 3000
    python tests/conformance/reference_server.py --suite engine.io --port 3000

`engine.io`: plain Engine.IO on `/engine.io/` that echoes every message.
`socket.io`: Socket.IO on `/socket.io/` with namespaces `/` and `/custom`;
each socket is sent `auth` (its CONNECT payload), `message` is answered with
`message-back` and the same arguments, `message-with-ack` is acked with them.
Both: ping interval 300 ms, ping timeout 200 ms, max payload 1,000,000 bytes,
connect timeout 1 s, any origin. The suites (`socketio/engine.io-protocol`,
`socketio/socket.io-protocol`, folder `test-suite/`) expect port 3000.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from switchboard.transport import (
    ConnectAttempt,
    Connection,
    Endpoint,
    EngineAsgi,
    Outgoing,
    Server,
    ServerOptions,
    Socket,
    fast_http_protocol,
    fast_websocket_protocol,
)

OPTIONS = ServerOptions(
    ping_interval=0.3, ping_timeout=0.2, max_payload=1_000_000, connect_timeout=1.0
)


class EchoNamespace:
    """The suites' reference application, on one namespace."""

    def __init__(self, server: Server, *, echo: bool) -> None:
        self.server = server
        self.echo = echo

    async def on_connect(self, attempt: ConnectAttempt) -> None:
        sock = self.server.accept(attempt)
        sock.state = attempt.auth if isinstance(attempt.auth, dict) else {}

    async def on_connected(self, sock: Socket) -> None:
        # The suites' WebSocket client (ws 8.5) fires every message of one read in
        # a row, before the test's next `await` registers a listener: a packet that
        # shares a read with the CONNECT answer is lost to the test. Node's server
        # never coalesces (one write in flight per socket); ours does, so the
        # reference app sends `auth` a moment after the answer has left.
        await asyncio.sleep(0.002)
        if sock.connected:
            self.server.emit(sock, "auth", sock.state)

    def on_event(self, sock: Socket, args: list[Any], ack_id: int | None) -> None:
        if not self.echo or not args:
            return
        name, rest = args[0], args[1:]
        if name == "message":
            self.server.emit(sock, "message-back", *rest)
        elif name == "message-with-ack":
            self.server.ack(sock, ack_id, rest)

    def on_disconnect(self, sock: Socket, reason: str) -> None:
        return None


def build(suite: str) -> tuple[Any, Endpoint]:
    server = Server(OPTIONS)
    if suite == "engine.io":
        path = "/engine.io/"

        def echo(conn: Connection, data: str | bytes) -> None:
            conn.push(Outgoing("4" + data if isinstance(data, str) else data))

        server.raw_message = echo
    else:
        path = "/socket.io/"
        server.add_namespace("/", EchoNamespace(server, echo=True))
        server.add_namespace("/custom", EchoNamespace(server, echo=False))
    engine = EngineAsgi(server, cors_allowed=lambda _origin: True)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(path):
            await engine(scope, receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    return app, Endpoint(server, path)


def main(*, portable: bool = False) -> None:
    """Serve a suite's configuration; `portable` leaves WebSockets to uvicorn (EngineAsgi)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("socket.io", "engine.io"), required=True)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app, endpoint = build(args.suite)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws="websockets-sansio" if portable else fast_websocket_protocol(endpoint),
        loop="uvloop",
        http="httptools" if portable else fast_http_protocol(endpoint),
        lifespan="off",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
