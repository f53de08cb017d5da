"""The client side of Engine.IO v4 / Socket.IO v5, sans-I/O.

`ClientSession` is what a client keeps between the wire and the application:
it takes decoded Engine.IO packets (`receive`), answers pings, tracks which
namespaces are connected, numbers acks, reassembles binary attachments and
keeps Socket.IO's connection state recovery data (socket.io-client ≥ 4.6):

- the server's CONNECT answer carries `{sid, pid}` when recovery is on;
- every broadcast carries its log offset as one extra trailing string argument;
- a reconnect's CONNECT is `{pid, offset, ...auth}` (auth keys win);
- a namespace is recovered when the server answers with the same pid again.

It produces `ClientEvent`s for the application and Engine.IO packets to send
(`data_to_send`: text packets with their type digit, bytes for binary
messages); the packet codecs are the server's own (`engineio`, `socketio`).
No sockets, tasks or clocks: an adapter (`switchboard.client.connection`)
moves the bytes and keeps the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.transport import engineio as eio
from switchboard.transport import socketio as sio
from switchboard.transport.engineio import EngineProtocolError, OpenInfo
from switchboard.transport.socketio import Reassembler, SioPacket, SocketProtocolError

# Largest ack id before the counter wraps: the codec refuses ids past 15 digits.
_MAX_ACK_ID = 10**15 - 1


@dataclass(frozen=True, slots=True)
class Opened:
    """The Engine.IO session is open (the server's OPEN packet)."""

    info: OpenInfo


@dataclass(frozen=True, slots=True)
class Connected:
    """A namespace accepted the CONNECT; `recovered` when it resumed the previous session."""

    namespace: str
    sid: str
    recovered: bool


@dataclass(frozen=True, slots=True)
class ConnectRefused:
    """The server answered CONNECT_ERROR; `data` is its `{message, data?}` object."""

    namespace: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventReceived:
    """An event from the server; `args` has the recovery offset already stripped."""

    namespace: str
    name: Any
    args: list[Any]
    ack_id: int | None


@dataclass(frozen=True, slots=True)
class AckReceived:
    """The server's answer to an event the client emitted with `ack=True`."""

    namespace: str
    ack_id: int
    args: list[Any]


@dataclass(frozen=True, slots=True)
class NamespaceClosed:
    """The server disconnected a namespace (DISCONNECT): do not reconnect it."""

    namespace: str


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The server closed the Engine.IO session (CLOSE): do not reconnect."""


ClientEvent = (
    Opened
    | Connected
    | ConnectRefused
    | EventReceived
    | AckReceived
    | NamespaceClosed
    | SessionClosed
)


class ClientSession:
    """One client's protocol state; recovery data outlives each Engine.IO session.

    Call `start()` for every new transport (a reconnect), feed it every
    packet, and send what `data_to_send()` returns in order.
    """

    def __init__(self) -> None:
        self.pids: dict[str, str] = {}
        self.offsets: dict[str, str] = {}
        self.info: OpenInfo | None = None
        self.sids: dict[str, str] = {}
        self._out: list[str | bytes] = []
        self._next_ack = 0
        self._assembling: Reassembler | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """A new Engine.IO session begins: nothing of the previous transport carries over
        except the pids and offsets that let the server recover."""
        self.info = None
        self.sids = {}
        self._out = []
        self._assembling = None

    def forget(self) -> None:
        """Drop the recovery data: the next CONNECT starts new sessions (after a logout)."""
        self.pids.clear()
        self.offsets.clear()

    def data_to_send(self) -> list[str | bytes]:
        """Engine.IO packets to send, in order; the buffer is emptied."""
        out, self._out = self._out, []
        return out

    # -- what the client sends -------------------------------------------------------------

    def connect(self, namespace: str, auth: dict[str, Any]) -> None:
        """CONNECT `namespace` with `auth`, plus the pid and offset to resume, once known."""
        payload: dict[str, Any] = dict(auth)
        pid = self.pids.get(namespace)
        if pid is not None:
            extra: dict[str, Any] = {"pid": pid}
            offset = self.offsets.get(namespace)
            if offset is not None:
                extra["offset"] = offset
            payload = {**extra, **auth}  # as socket.io-client's Object.assign({pid, offset}, auth)
        self._push(sio.encode(sio.CONNECT, namespace, payload))

    def emit(self, namespace: str, name: str, args: list[Any], *, ack: bool) -> int | None:
        """EVENT `name` with `args`; returns the ack id the answer will carry, if asked."""
        ack_id: int | None = None
        if ack:
            ack_id = self._next_ack
            self._next_ack = 0 if ack_id >= _MAX_ACK_ID else ack_id + 1
        self._push(sio.encode_event(namespace, [name, *args], ack_id))
        return ack_id

    def ack(self, namespace: str, ack_id: int, args: list[Any]) -> None:
        """Answer an event the server emitted with an ack id."""
        self._push(sio.encode(sio.ACK, namespace, args, ack_id))

    def disconnect(self, namespace: str) -> None:
        """Leave `namespace` (the server forgets the socket: no recovery for it)."""
        self.sids.pop(namespace, None)
        self.pids.pop(namespace, None)
        self.offsets.pop(namespace, None)
        self._push(sio.encode(sio.DISCONNECT, namespace))

    def close(self) -> None:
        """End the Engine.IO session (CLOSE): the server drops every socket of it at once."""
        self._out.append(str(eio.CLOSE))

    def _push(self, packet: eio.Outgoing) -> None:
        self._out.extend(packet.parts)

    # -- what the server sends -------------------------------------------------------------

    def receive(self, packet: eio.Packet) -> list[ClientEvent]:
        """One decoded Engine.IO packet from the server.

        Raises `EngineProtocolError` or `SocketProtocolError` on anything that is
        not the protocol: the caller drops the transport.
        """
        kind, data = packet
        if self.info is None:
            if kind != eio.OPEN:
                raise EngineProtocolError("the session did not start with OPEN")
            self.info = eio.decode_open(data)
            return [Opened(self.info)]
        if kind == eio.PING:
            self._out.append(str(eio.PONG) + _text(data))
            return []
        if kind == eio.MESSAGE:
            return self._message(data)
        if kind == eio.CLOSE:
            return [SessionClosed()]
        if kind == eio.NOOP:
            return []
        raise EngineProtocolError(f"unexpected packet type {kind} from the server")

    def _message(self, data: str | bytes) -> list[ClientEvent]:
        if isinstance(data, bytes):
            if self._assembling is None:
                raise SocketProtocolError("a binary message nobody announced")
            done = self._assembling.add(data)
            if done is None:
                return []
            self._assembling = None
            return self._packet(done)
        if self._assembling is not None:
            raise SocketProtocolError("a text packet in the middle of attachments")
        packet = sio.decode(data, from_server=True)
        if packet.attachments:
            self._assembling = Reassembler(packet)
            return []
        return self._packet(packet)

    def _packet(self, packet: SioPacket) -> list[ClientEvent]:
        ns, data = packet.namespace, packet.data
        if packet.type == sio.CONNECT:
            return [self._connected(ns, data)]
        if packet.type == sio.CONNECT_ERROR:
            self.sids.pop(ns, None)
            return [ConnectRefused(ns, data)]
        if packet.type == sio.DISCONNECT:
            self.sids.pop(ns, None)
            self.pids.pop(ns, None)
            self.offsets.pop(ns, None)
            return [NamespaceClosed(ns)]
        if ns not in self.sids:
            return []  # a late packet of a namespace the client has left
        if packet.type in (sio.EVENT, sio.BINARY_EVENT):
            args = data[1:]
            # Broadcasts carry the offset last; Switchboard's payloads are objects,
            # so a trailing string after a payload is always the offset.
            if ns in self.pids and len(args) > 1 and isinstance(args[-1], str):
                self.offsets[ns] = args[-1]
                args = args[:-1]
            return [EventReceived(ns, data[0], args, packet.id)]
        if packet.id is None:
            raise SocketProtocolError("an ACK without an id")
        return [AckReceived(ns, packet.id, data)]

    def _connected(self, ns: str, data: dict[str, Any]) -> Connected:
        sid = data.get("sid")
        if not isinstance(sid, str) or not sid:
            raise SocketProtocolError("a CONNECT answer without a sid")
        pid = data.get("pid")
        recovered = False
        if isinstance(pid, str) and pid:
            recovered = self.pids.get(ns) == pid
            if not recovered:
                self.offsets.pop(ns, None)  # a new session: the old offset was the old pid's
            self.pids[ns] = pid
        else:
            self.pids.pop(ns, None)
            self.offsets.pop(ns, None)
        self.sids[ns] = sid
        return Connected(ns, sid, recovered)


def _text(data: str | bytes) -> str:
    return data if isinstance(data, str) else ""
