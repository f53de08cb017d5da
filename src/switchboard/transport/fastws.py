"""The fast path: Engine.IO over WebSocket on raw asyncio protocol callbacks.

uvicorn accepts a WebSocket protocol *class* (`ws=` in `uvicorn.Config`, or
`--ws module:Class`) and, on an upgrade request, hands it the transport and
the request's bytes. `fast_websocket_protocol(endpoint)` makes such a class:
upgrades under the endpoint's path (`/socket.io/`) are served here, with no
task, queue or ASGI message per frame; every other upgrade is handed to
uvicorn's own WebSocket protocol, so the host application's WebSockets keep
working. Why not an HTTP front of our own: uvicorn stays the server (HTTP
parsing, TLS, proxies, lifespan, signals), and we replace only the part that
is on the hot path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, unquote

from switchboard.transport import engineio as eio
from switchboard.transport.connection import Connection, Handshake, Sink
from switchboard.transport.server import (
    SERVER_SHUTTING_DOWN,
    TRANSPORT_CLOSE,
    TRANSPORT_ERROR,
    Server,
)
from switchboard.transport.websocket import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    CLOSE_PROTOCOL_ERROR,
    OP_CLOSE,
    OP_PONG,
    FrameParser,
    WsClose,
    WsMessage,
    WsPing,
    WsProtocolError,
    close_frame,
    frame,
    negotiate_deflate,
    upgrade_response,
    valid_key,
)

log = logging.getLogger("switchboard.transport")

MAX_HEAD_BYTES = 65536


@dataclass(slots=True)
class RequestHead:
    """An upgrade request as the fast path sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; the last value of repeated ones
    scheme: str
    remote: str | None


# Returns None to go on, or an HTTP status to refuse the request with (e.g. 403).
RequestCheck = Callable[[RequestHead], int | None]


@dataclass(slots=True)
class Endpoint:
    """Where the fast path serves and what it serves."""

    server: Server
    path: str = "/socket.io/"
    check: RequestCheck | None = None


class FastWebSocketSink(Sink):
    """Frames go straight to the asyncio transport; the kernel's backpressure pauses us."""

    raw_ws = True
    __slots__ = ("paused", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.paused = False

    def flush(self, conn: Connection) -> None:
        if self.paused:
            return  # the bytes wait in `out`, where the max-queue rule can see them
        out = conn.out
        self.transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()

    def send_now(self, packet: eio.Outgoing) -> None:
        self.transport.write(packet.ws)

    def end(self, conn: Connection, code: int, *, abort: bool = False) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        if abort or self.paused:
            transport.abort()  # a client that does not read would hold a graceful close forever
            return
        if conn.sink is self and conn.out:
            transport.write(b"".join(conn.out))
            conn.out.clear()
        transport.write(close_frame(code))
        transport.close()


class DeflateWebSocketSink(FastWebSocketSink):
    """A WebSocket with permessage-deflate: `out` holds packets, compressed once each."""

    raw_ws = False
    __slots__ = ()

    def flush(self, conn: Connection) -> None:
        if self.paused:
            return
        out = conn.out
        self.transport.write(b"".join(p.ws_deflated for p in out))
        out.clear()

    def send_now(self, packet: eio.Outgoing) -> None:
        self.transport.write(packet.ws_deflated)

    def end(self, conn: Connection, code: int, *, abort: bool = False) -> None:
        if not abort and not self.paused and conn.sink is self and conn.out:
            self.transport.write(b"".join(p.ws_deflated for p in conn.out))
            conn.out.clear()
        super().end(conn, code, abort=abort)


def parse_request(data: bytes, scheme: str, remote: str | None) -> RequestHead:
    head = data.decode("latin-1")
    lines = head.split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    path, _, query = target.partition("?")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return RequestHead(method, unquote(path), dict(parse_qsl(query)), headers, scheme, remote)


def http_error(transport: asyncio.Transport, status: int, message: str) -> None:
    body = eio_error_body(message)
    reason = {400: "Bad Request", 403: "Forbidden"}.get(status, "Error")
    transport.write(
        (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode("latin-1")
        + body
    )
    transport.close()


def eio_error_body(message: str) -> bytes:
    return ('{"code":3,"message":"' + message + '"}').encode("ascii")


def check_engine_query(query: dict[str, str], transport: str | None = None) -> str | None:
    """What is wrong with an Engine.IO request's query, or None."""
    if query.get("EIO") != "4":
        return "Unsupported protocol version"
    if query.get("transport") not in ("polling", "websocket") or (
        transport is not None and query.get("transport") != transport
    ):
        return "Transport unknown"
    return None


def fast_websocket_protocol(endpoint: Endpoint | None = None) -> type[asyncio.Protocol]:
    """A uvicorn WebSocket protocol class bound to `endpoint`.

    Without one, the class finds it on the ASGI app uvicorn serves
    (`app.realtime_endpoint`), so `uvicorn --ws switchboard.transport:WebSocketProtocol`
    works with an app from `switchboard.create_app`.
    """
    return type("EngineWebSocketProtocol", (EngineWebSocketProtocol,), {"endpoint": endpoint})


def _find_endpoint(config: Any) -> Endpoint | None:
    """The endpoint of the app uvicorn serves: on the app, or under its middleware.

    `uvicorn.Config.loaded_app` is the app wrapped in uvicorn's own middleware
    (proxy headers, logging), each of which keeps the app it wraps as `.app`.
    """
    app = getattr(config, "loaded_app", None) or config.app
    for _ in range(8):
        endpoint = getattr(app, "realtime_endpoint", None)
        if isinstance(endpoint, Endpoint):
            return endpoint
        app = getattr(app, "app", None)
        if app is None:
            break
    return None


class EngineWebSocketProtocol(asyncio.Protocol):
    endpoint: ClassVar[Endpoint | None] = None

    def __init__(self, config: Any, server_state: Any, app_state: Any = None) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.transport: asyncio.Transport | None = None
        self._head = b""
        self._endpoint = self.endpoint or _find_endpoint(config)
        self.conn: Connection | None = None
        self.sink: FastWebSocketSink | None = None
        self.parser: FrameParser | None = None
        self._fallback: asyncio.Protocol | None = None  # uvicorn's, for upgrades not ours

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but implement it.
        self.transport = cast(asyncio.Transport, transport)
        self.server_state.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._fallback is not None:
            self._fallback.connection_lost(exc)
            return
        self.server_state.connections.discard(self)
        conn, sink = self.conn, self.sink
        if conn is None or sink is None:
            return
        if conn.sink is sink:
            conn.server.close(conn, TRANSPORT_ERROR if exc else TRANSPORT_CLOSE, packet=False)
        else:
            conn.server.abandon_upgrade(conn, sink)

    def pause_writing(self) -> None:
        if self._fallback is not None:
            self._fallback.pause_writing()
        elif self.sink is not None:
            self.sink.paused = True

    def resume_writing(self) -> None:
        if self._fallback is not None:
            self._fallback.resume_writing()
            return
        sink, conn = self.sink, self.conn
        if sink is None or conn is None:
            return
        sink.paused = False
        if conn.out and conn.sink is sink and not conn.dirty:
            conn.server.mark_dirty(conn)

    def eof_received(self) -> bool | None:
        if self._fallback is not None:
            return self._fallback.eof_received()
        return None

    def data_received(self, data: bytes) -> None:
        if self._fallback is not None:
            self._fallback.data_received(data)
        elif self.parser is not None:
            self._frames(data)
        else:
            self._handshake(data)

    # -- uvicorn's shutdown calls this on every connection it tracks --

    def shutdown(self) -> None:
        if self.conn is not None and self.sink is self.conn.sink:
            self.conn.server.close(
                self.conn, SERVER_SHUTTING_DOWN, packet=False, code=CLOSE_GOING_AWAY
            )
        elif self.transport is not None:
            self.transport.close()

    # -- the upgrade request --

    def _handshake(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD_BYTES:
                http_error(transport, 400, "Request too large")
            return
        raw, rest = self._head[: end + 4], self._head[end + 4 :]
        self._head = b""
        peer = transport.get_extra_info("peername")
        scheme = "wss" if transport.get_extra_info("sslcontext") else "ws"
        try:
            request = parse_request(raw[:-4], scheme, peer[0] if peer else None)
        except ValueError:
            http_error(transport, 400, "Bad request")
            return
        endpoint = self._endpoint
        if endpoint is None or not request.path.startswith(endpoint.path):
            self._hand_over(raw + rest)
            return
        self._serve(endpoint, request, transport)
        if rest and self.parser is not None:
            self._frames(rest)

    def _hand_over(self, data: bytes) -> None:
        """Not ours: uvicorn's own WebSocket protocol serves this connection from now on."""
        from uvicorn.config import WS_PROTOCOLS
        from uvicorn.importer import import_from_string

        transport = self.transport
        assert transport is not None
        self.server_state.connections.discard(self)
        fallback_cls = import_from_string(WS_PROTOCOLS["auto"])
        fallback = fallback_cls(
            config=self.config, server_state=self.server_state, app_state=self.app_state
        )
        # uvicorn sets this object as the transport's protocol once we return, so
        # from here on it forwards every callback to the protocol that serves.
        self._fallback = fallback
        fallback.connection_made(transport)
        fallback.data_received(data)

    def _serve(
        self, endpoint: Endpoint, request: RequestHead, transport: asyncio.Transport
    ) -> None:
        server = endpoint.server
        problem = check_engine_query(request.query, "websocket")
        if problem is None and request.method != "GET":
            problem = "Bad request method"
        key = request.headers.get("sec-websocket-key")
        if problem is None and (
            not valid_key(key) or request.headers.get("sec-websocket-version") != "13"
        ):
            problem = "Bad WebSocket handshake"
        if problem is not None:
            http_error(transport, 400, problem)
            return
        if endpoint.check is not None:
            status = endpoint.check(request)
            if status is not None:
                http_error(transport, status, "Forbidden")
                return
        extensions = (
            negotiate_deflate(request.headers.get("sec-websocket-extensions"))
            if server.options.compression
            else None
        )
        sink = DeflateWebSocketSink(transport) if extensions else FastWebSocketSink(transport)
        sid = request.query.get("sid")
        conn: Connection | None = None
        if sid is not None:
            conn = server.sessions.get(sid)
            if conn is None:
                http_error(transport, 400, "Session ID unknown")
                return
            if not server.begin_upgrade(conn, sink):
                # A known session that cannot take this socket (already upgraded): the
                # upgrade succeeds and the socket is closed, leaving the session as it is.
                assert key is not None
                transport.write(upgrade_response(key) + close_frame(CLOSE_POLICY))
                transport.close()
                return
        assert key is not None
        response = upgrade_response(key, extensions)
        self.sink = sink
        self.parser = FrameParser(server.options.max_payload, inflate=extensions is not None)
        if conn is None:
            kept = {
                k: request.headers[k] for k in server.options.kept_headers if k in request.headers
            }
            conn = server.open(Handshake(kept, request.remote, request.query), sink)
            opening = server.open_packet(conn, upgrades=False)
            if sink.raw_ws:
                # One write for the 101 and the OPEN frame: a connect storm pays one
                # syscall less per socket, and the client reads both at once.
                response += opening.ws
            else:
                conn.push(opening)
        transport.write(response)
        self.conn = conn

    # -- frames --

    def _frames(self, data: bytes) -> None:
        parser, conn, sink, transport = self.parser, self.conn, self.sink, self.transport
        assert parser is not None
        assert conn is not None
        assert sink is not None
        assert transport is not None
        violation: WsProtocolError | None = None
        try:
            events = parser.feed(data)
        except WsProtocolError as exc:
            events, violation = exc.events, exc
        try:
            for event in events:
                if type(event) is WsMessage:
                    if event.text:
                        kind, payload = eio.decode_text(event.data.decode("utf-8"))
                        conn.receive(kind, payload, via=sink)
                    else:
                        conn.receive(eio.MESSAGE, event.data, via=sink)
                elif type(event) is WsPing:
                    transport.write(frame(OP_PONG, event.data))
                elif type(event) is WsClose:
                    self._closed_by_client(event)
                    return
        except eio.EngineProtocolError as exc:
            self._fail(CLOSE_PROTOCOL_ERROR, str(exc))
            return
        if violation is not None:
            self._fail(violation.code, violation.reason)

    def _closed_by_client(self, event: WsClose) -> None:
        conn, sink, transport = self.conn, self.sink, self.transport
        assert conn is not None
        assert sink is not None
        assert transport is not None
        if not transport.is_closing():
            transport.write(frame(OP_CLOSE, (event.code or 1000).to_bytes(2, "big")))
            transport.close()
        if conn.sink is sink:
            conn.server.close(conn, TRANSPORT_CLOSE, packet=False)
        else:
            conn.server.abandon_upgrade(conn, sink)

    def _fail(self, code: int, reason: str) -> None:
        conn, sink, transport = self.conn, self.sink, self.transport
        assert conn is not None
        assert sink is not None
        assert transport is not None
        log.info("closing websocket of session %s: %s", conn.sid, reason)
        if conn.sink is sink:
            conn.server.close(conn, TRANSPORT_ERROR, packet=False, code=code)
        else:
            conn.server.abandon_upgrade(conn, sink)
            transport.write(close_frame(code))
            transport.close()


# For `uvicorn --ws switchboard.transport.fastws:WebSocketProtocol`: finds its endpoint on the app.
WebSocketProtocol = EngineWebSocketProtocol
