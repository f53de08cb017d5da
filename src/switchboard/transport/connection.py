"""One Engine.IO session: its output buffer, heartbeat state, upgrade and close.

A `Connection` does not know how bytes reach the client: its `sink` does
(`FastWebSocketSink` writes frames straight to an asyncio transport,
`PollingSink` answers long-poll GETs, `AsgiWebSocketSink` sends through an
ASGI server). Whatever the server sends waits in `out` until the server's
once-per-loop-iteration flush hands it to the sink; a WebSocket connection's
`out` holds ready frames (so a flush is one `write`), the others hold
`Outgoing` packets.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchboard.transport import engineio as eio

if TYPE_CHECKING:
    from switchboard.transport.server import Server
    from switchboard.transport.socketio import Reassembler
    from switchboard.transport.sockets import Socket

log = logging.getLogger("switchboard.transport")


@dataclass(slots=True)
class Handshake:
    """What the server keeps of the request that opened a session (not the whole scope)."""

    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, a few kept
    remote: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Sink(abc.ABC):
    """How a connection's output reaches its client."""

    raw_ws = False  # `out` holds WebSocket frames (bytes) rather than `Outgoing` packets
    __slots__ = ()

    @abc.abstractmethod
    def flush(self, conn: Connection) -> None:
        """Hand `conn.out` to the client if it can take it now."""

    @abc.abstractmethod
    def send_now(self, packet: eio.Outgoing) -> None:
        """Send outside the connection's buffer (the upgrade probe's answer)."""

    @abc.abstractmethod
    def end(self, conn: Connection, code: int, *, abort: bool = False) -> None:
        """Hand over what is left in `out`, then drop the transport (at once with `abort`)."""


class Connection:
    __slots__ = (
        "awaiting_pong",
        "closed",
        "dirty",
        "handshake",
        "hb_gen",
        "joined",
        "out",
        "reassembler",
        "server",
        "sid",
        "sink",
        "sockets",
        "upgrading",
    )

    def __init__(self, server: Server, sid: str, handshake: Handshake, sink: Sink) -> None:
        self.server = server
        self.sid = sid
        self.handshake = handshake
        self.sink = sink
        self.sockets: dict[str, Socket] = {}
        self.out: list[Any] = []
        self.dirty = False
        self.closed = False
        self.joined = False  # joined a namespace once: the connect timeout no longer applies
        self.hb_gen = 0
        self.awaiting_pong = False
        self.reassembler: Reassembler | None = None
        self.upgrading: Sink | None = None

    @property
    def raw_ws(self) -> bool:
        return self.sink.raw_ws

    @property
    def transport_name(self) -> str:
        return "polling" if isinstance(self.sink, PollingSink) else "websocket"

    # -- output ----------------------------------------------------------------------

    def push(self, packet: eio.Outgoing) -> None:
        if self.closed:
            return
        self.out.append(packet.ws if self.sink.raw_ws else packet)
        if not self.dirty:
            self.server.mark_dirty(self)

    # -- input (already decoded Engine.IO packets, from any transport) ----------------

    def receive(self, kind: int, data: str | bytes, via: Sink | None = None) -> None:
        if self.closed:
            return
        if kind == eio.MESSAGE:
            self.server.engine_message(self, data)
        elif kind == eio.PONG:
            self.server.pong(self)
        elif kind == eio.PING:
            if data == "probe" and via is not None and via is self.upgrading:
                self.server.probe(self, via)
            else:
                self.push(eio.Outgoing("3" + str(data)))
        elif kind == eio.UPGRADE:
            if via is not None and via is self.upgrading:
                self.server.upgraded(self, via)
        elif kind == eio.CLOSE:
            self.server.close(self, "forced close", packet=False)
        elif kind == eio.NOOP:
            return
        else:
            raise eio.EngineProtocolError("unexpected packet from a client")


class PollingSink(Sink):
    """Long-polling: a pending GET waits on `waiter` until there is output."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter: asyncio.Future[list[eio.Outgoing]] | None = None

    def flush(self, conn: Connection) -> None:
        waiter = self.waiter
        if waiter is not None and conn.out and not waiter.done():
            waiter.set_result(conn.out[:])
            conn.out.clear()
            self.waiter = None

    def send_now(self, packet: eio.Outgoing) -> None:
        self.release([packet])

    def release(self, packets: list[eio.Outgoing]) -> None:
        """Answer the pending GET now (upgrade, close)."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(packets)
        self.waiter = None

    def end(self, conn: Connection, code: int, *, abort: bool = False) -> None:
        left = conn.out[:] or [eio.NOOP_PACKET]
        conn.out.clear()
        self.release(left)


class AsgiWebSocketSink(Sink):
    """The portable path: an ASGI server's WebSocket, fed by one writer task (asgi.py)."""

    __slots__ = ("close_code", "direct", "wake")

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.direct: list[eio.Outgoing] = []
        self.close_code: int | None = None

    def flush(self, conn: Connection) -> None:
        self.wake.set()

    def send_now(self, packet: eio.Outgoing) -> None:
        self.direct.append(packet)
        self.wake.set()

    def end(self, conn: Connection, code: int, *, abort: bool = False) -> None:
        self.close_code = code
        self.wake.set()


__all__ = [
    "AsgiWebSocketSink",
    "Connection",
    "Handshake",
    "PollingSink",
    "Sink",
]
