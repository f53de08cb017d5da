"""Engine.IO through ASGI: long-polling, and WebSocket on any ASGI server.

Long-polling is rare and slow by nature, so it stays on plain ASGI. The
WebSocket path here is the portable one, for apps served by something other
than `switchboard serve` (or uvicorn with the fast protocol class): correct,
with one writer task per connection instead of the fast path's direct writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from switchboard.transport import engineio as eio
from switchboard.transport.connection import AsgiWebSocketSink, Connection, Handshake, PollingSink
from switchboard.transport.fastws import check_engine_query, eio_error_body
from switchboard.transport.server import PARSE_ERROR, TRANSPORT_CLOSE, TRANSPORT_ERROR, Server
from switchboard.transport.websocket import CLOSE_TOO_BIG

log = logging.getLogger("switchboard.transport")

# Decides the CORS headers of a polling answer: the allowed origin to echo, or None.
CorsPolicy = Callable[[str], bool]


def handshake_from_scope(scope: Scope, query: dict[str, str], kept: tuple[str, ...]) -> Handshake:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name in kept:
            headers[name] = raw_value.decode("latin-1")
    client = scope.get("client")
    return Handshake(headers, client[0] if client else None, query)


class EngineAsgi:
    """The ASGI app for `/socket.io/` requests (origin checks happen before it)."""

    def __init__(self, server: Server, *, cors_allowed: CorsPolicy | None = None) -> None:
        self.server = server
        self.cors_allowed = cors_allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    # -- long-polling -----------------------------------------------------------------------

    def _cors_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        origin = next((v for k, v in scope.get("headers", []) if k.lower() == b"origin"), None)
        if origin is None or self.cors_allowed is None:
            return []
        if not self.cors_allowed(origin.decode("latin-1")):
            return []
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]

    async def _respond(
        self,
        scope: Scope,
        send: Send,
        status: int,
        body: bytes,
        content_type: bytes = b"text/plain; charset=UTF-8",
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *self._cors_headers(scope),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _error(self, scope: Scope, send: Send, status: int, message: str) -> None:
        await self._respond(scope, send, status, eio_error_body(message), b"application/json")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "OPTIONS":
            await self._respond(
                scope,
                send,
                204,
                b"",
                extra=[
                    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                    (b"access-control-allow-headers", b"content-type"),
                ],
            )
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        problem = check_engine_query(query, "polling")
        if problem is not None:
            await self._error(scope, send, 400, problem)
            return
        sid = query.get("sid")
        server = self.server
        if sid is None:
            if method != "GET":
                await self._error(scope, send, 400, "Bad handshake method")
                return
            conn = server.open(
                handshake_from_scope(scope, query, server.options.kept_headers), PollingSink()
            )
            opened = server.open_packet(conn, upgrades=True)
            await self._respond(scope, send, 200, opened.polling.encode("utf-8"))
            return
        conn_or_none = server.sessions.get(sid)
        if conn_or_none is None or not isinstance(conn_or_none.sink, PollingSink):
            await self._error(scope, send, 400, "Session ID unknown")
            return
        if method == "GET":
            await self._poll(scope, receive, send, conn_or_none, conn_or_none.sink)
        elif method == "POST":
            await self._post(scope, receive, send, conn_or_none)
        else:
            await self._error(scope, send, 400, "Bad request method")

    async def _poll(
        self, scope: Scope, receive: Receive, send: Send, conn: Connection, sink: PollingSink
    ) -> None:
        if sink.waiter is not None:
            # Two GETs at once: the client is broken; the first gets CLOSE.
            self.server.close(conn, TRANSPORT_ERROR)
            await self._error(scope, send, 400, "Overlap from client")
            return
        if conn.out:
            packets: list[eio.Outgoing] = conn.out[:]
            conn.out.clear()
        else:
            await receive()  # the GET's (empty) body; the next message is a disconnect
            waiter = sink.waiter = asyncio.get_running_loop().create_future()
            gone = asyncio.ensure_future(receive())
            try:
                await asyncio.wait((waiter, gone), return_when=asyncio.FIRST_COMPLETED)
            finally:
                if sink.waiter is waiter:
                    sink.waiter = None
                gone.cancel()
            if not waiter.done():
                waiter.cancel()
                return  # the client gave up this GET: its output waits for the next one
            packets = waiter.result()
            if gone.done() and not gone.cancelled():
                conn.out[:0] = packets  # nobody to answer: keep it for the next GET
                return
        await self._respond(scope, send, 200, eio.polling_body(packets).encode("utf-8"))

    async def _post(self, scope: Scope, receive: Receive, send: Send, conn: Connection) -> None:
        limit = self.server.options.max_payload
        body = await read_body(scope, receive, limit)
        if body is None:
            await self._error(scope, send, 413, "Payload too large")
            return
        try:
            packets = eio.decode_payload(body.decode("utf-8"))
            for kind, data in packets:
                conn.receive(kind, data)
        except (UnicodeDecodeError, eio.EngineProtocolError):
            self.server.close(conn, PARSE_ERROR, packet=False)
            await self._error(scope, send, 400, "Bad request")
            return
        await self._respond(scope, send, 200, b"ok", b"text/html")

    # -- WebSocket, portable path -------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = self.server
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        sink = AsgiWebSocketSink()
        sid = query.get("sid")
        conn: Connection | None = None
        if check_engine_query(query, "websocket") is not None:
            await send({"type": "websocket.close", "code": 1008})
            return
        if sid is not None:
            conn = server.sessions.get(sid)
            if conn is None or not server.begin_upgrade(conn, sink):
                await send({"type": "websocket.close", "code": 1008})
                return
        await send({"type": "websocket.accept"})
        if conn is None:
            conn = server.open(
                handshake_from_scope(scope, query, server.options.kept_headers), sink
            )
            conn.push(server.open_packet(conn, upgrades=False))
        writer = asyncio.get_running_loop().create_task(_write(conn, sink, send))
        try:
            while not conn.closed and (conn.sink is sink or conn.upgrading is sink):
                message: Message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                data_in = message.get("text")
                if data_in is None:
                    data_in = message.get("bytes")
                if data_in is not None and len(data_in) > server.options.max_payload:
                    log.info("closing websocket of session %s: message too big", conn.sid)
                    server.close(conn, PARSE_ERROR, packet=False, code=CLOSE_TOO_BIG)
                    break
                if isinstance(data_in, str):
                    kind, data = eio.decode_text(data_in)
                    conn.receive(kind, data, via=sink)
                elif data_in is not None:
                    conn.receive(eio.MESSAGE, data_in, via=sink)
        except eio.EngineProtocolError as exc:
            log.info("closing websocket of session %s: %s", conn.sid, exc)
            server.close(conn, PARSE_ERROR, packet=False)
        finally:
            if conn.sink is sink:
                server.close(conn, TRANSPORT_CLOSE, packet=False)
            else:
                server.abandon_upgrade(conn, sink)
                sink.end(conn, 1000)
            with contextlib.suppress(Exception):
                await writer


async def _write(conn: Connection, sink: AsgiWebSocketSink, send: Send) -> None:
    try:
        while True:
            await sink.wake.wait()
            sink.wake.clear()
            packets, sink.direct = sink.direct, []
            if conn.sink is sink and conn.out:
                packets += conn.out
                conn.out = []
            for packet in packets:
                for part in packet.parts:
                    if isinstance(part, str):
                        await send({"type": "websocket.send", "text": part})
                    else:
                        await send({"type": "websocket.send", "bytes": part})
            if sink.close_code is not None:
                await send({"type": "websocket.close", "code": sink.close_code})
                return
    except Exception:
        return  # the reader side ends the session


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is (or announces itself) larger than `limit`."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
