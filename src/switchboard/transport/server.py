"""`Server`: Engine.IO sessions and Socket.IO namespaces, with a corked fan-out.

Everything here runs on the event loop without tasks or queues per
connection. Output goes into each connection's `out` list; the first packet a
connection gets in a loop iteration puts it on the dirty list, and one
`call_soon(_flush)` per iteration hands each dirty connection's output to its
sink (one `write()` per WebSocket). A broadcast encodes its packet once and
appends the same object (or its ready frame) to each recipient.

The I/O adapters (`fastws.py` for WebSocket connections taken over from
uvicorn, `asgi.py` for long-polling and WebSocket through any ASGI server)
feed decoded packets in; applications plug in through `NamespaceHandler`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.transport import engineio as eio
from switchboard.transport import socketio as sio
from switchboard.transport.connection import Connection, Handshake, PollingSink, Sink
from switchboard.transport.sockets import (
    ConnectAttempt,
    ConnectRefused,
    Namespace,
    NamespaceHandler,
    Pos,
    Socket,
)
from switchboard.transport.timers import Timers
from switchboard.transport.websocket import CLOSE_GOING_AWAY, CLOSE_NORMAL

log = logging.getLogger("switchboard.transport")

# Socket.IO disconnect reasons (the names socket.io-client and the Node server use).
CLIENT_NAMESPACE_DISCONNECT = "client namespace disconnect"
SERVER_NAMESPACE_DISCONNECT = "server namespace disconnect"
TRANSPORT_CLOSE = "transport close"
TRANSPORT_ERROR = "transport error"
PING_TIMEOUT = "ping timeout"
PARSE_ERROR = "parse error"
FORCED_CLOSE = "forced close"
SERVER_SHUTTING_DOWN = "server shutting down"
SLOW_CONSUMER = "slow consumer"
CONNECT_TIMEOUT = "connect timeout"
# A socket that left for one of these may come back and be restored.
SESSION_ENDING_REASONS = frozenset({CLIENT_NAMESPACE_DISCONNECT, SERVER_NAMESPACE_DISCONNECT})


@dataclass(frozen=True, slots=True)
class ServerOptions:
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    max_payload: int = 1_000_000
    connect_timeout: float = 45.0
    max_queue: int = 1000  # packets waiting for one connection before it is cut off
    upgrades: bool = True  # offer polling clients the WebSocket upgrade
    # permessage-deflate for clients that offer it (each broadcast compressed once)
    compression: bool = False
    # Request headers a session keeps after its handshake (the rest is dropped:
    # memory); lower case. An application that authenticates with another
    # header adds it here.
    kept_headers: tuple[str, ...] = (
        "cookie",
        "authorization",
        "user-agent",
        "x-forwarded-for",
        "origin",
        "host",
    )


RawMessageHandler = Callable[[Connection, "str | bytes"], None]


def new_id() -> str:
    return secrets.token_urlsafe(15)


class Server:
    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.sessions: dict[str, Connection] = {}
        self.namespaces: dict[str, Namespace] = {}
        # Set to serve plain Engine.IO (no Socket.IO layer): every message goes here.
        self.raw_message: RawMessageHandler | None = None
        # Told when a connection is cut for falling behind (metrics, logs).
        self.on_overflow: Callable[[Connection], None] = lambda _conn: None
        self._dirty: list[Connection] = []
        # Connections that got an ack since the last flush: written first (see `_flush`).
        self._replied: list[Connection] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.timers: Timers[Connection] = Timers()
        opts = self.options
        self._ping_due = self.timers.queue(opts.ping_interval, self._send_ping)
        self._pong_due = self.timers.queue(opts.ping_timeout, self._pong_missed)
        self._connect_due = self.timers.queue(opts.connect_timeout, self._connect_expired)
        self._open_templates = {
            upgrades: self._open_template(upgrades=upgrades) for upgrades in (False, True)
        }

    # -- namespaces ----------------------------------------------------------------------

    def add_namespace(self, name: str, handler: NamespaceHandler) -> Namespace:
        ns = self.namespaces[name] = Namespace(name, handler)
        return ns

    def socket(self, namespace: str, sid: str) -> Socket | None:
        ns = self.namespaces.get(namespace)
        return ns.sockets.get(sid) if ns is not None else None

    # -- sessions --------------------------------------------------------------------------

    def open(self, handshake: Handshake, sink: Sink) -> Connection:
        """A new Engine.IO session; the caller sends `open_packet(conn, ...)` first."""
        conn = Connection(self, new_id(), handshake, sink)
        self.sessions[conn.sid] = conn
        self.timers.add(self._ping_due, conn, conn.hb_gen)
        if self.raw_message is None:
            self.timers.add(self._connect_due, conn, 0)
        return conn

    def open_packet(self, conn: Connection, *, upgrades: bool) -> eio.Outgoing:
        return self._open_templates[upgrades].packet(conn.sid)

    def _open_template(self, *, upgrades: bool) -> eio.OpenTemplate:
        opts = self.options
        return eio.OpenTemplate(
            eio.OpenInfo(
                sid="-",
                upgrades=["websocket"] if upgrades and opts.upgrades else [],
                pingInterval=round(opts.ping_interval * 1000),
                pingTimeout=round(opts.ping_timeout * 1000),
                maxPayload=opts.max_payload,
            )
        )

    def close(
        self,
        conn: Connection,
        reason: str,
        *,
        packet: bool = True,
        discard: bool = False,
        code: int = CLOSE_NORMAL,
    ) -> None:
        """End a session: its sockets leave their namespaces, then its transport is dropped.

        `packet` sends Engine.IO CLOSE first (a client told so does not reconnect);
        `discard` drops output the client never read (a slow consumer).
        """
        if conn.closed:
            return
        if packet and not discard:
            conn.push(eio.CLOSE_PACKET)
        conn.closed = True
        conn.hb_gen += 1
        if self.sessions.get(conn.sid) is conn:
            del self.sessions[conn.sid]
        if discard:
            conn.out.clear()
        conn.reassembler = None
        for sock in list(conn.sockets.values()):
            self._remove(sock, reason)
        for sink in (conn.sink, conn.upgrading):
            if sink is not None:
                try:
                    sink.end(conn, code, abort=discard)
                except Exception:
                    log.exception("closing a transport failed", extra={"eio_sid": conn.sid})
        conn.upgrading = None

    async def drain(self) -> None:
        """Drop every transport without a CLOSE packet, so clients reconnect (elsewhere)."""
        for conn in list(self.sessions.values()):
            self.close(conn, SERVER_SHUTTING_DOWN, packet=False, code=CLOSE_GOING_AWAY)
        await asyncio.sleep(0)

    async def shutdown(self) -> None:
        await self.drain()
        self.timers.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- output ----------------------------------------------------------------------------

    def mark_dirty(self, conn: Connection) -> None:
        conn.dirty = True
        self._dirty.append(conn)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write every dirty connection once; those waiting on an ack first.

        A committed batch reaches hundreds of sockets and answers a few senders:
        with the senders' acks written first, a client waiting on one can send
        its next request while the broadcasts are still being written (fan-out
        to 100 sockets: about 7 % more deliveries a second, at less CPU per
        message; docs/benchmarks.md). Every replied connection is also in
        `_dirty`, where its now empty queue is passed over.
        """
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        if self._replied:
            replied, self._replied = self._replied, []
            for conn in replied:
                if conn.out:
                    self._write(conn)
        for conn in dirty:
            conn.dirty = False
            if conn.out:
                self._write(conn)

    def _write(self, conn: Connection) -> None:
        try:
            conn.sink.flush(conn)
        except Exception:
            log.exception("writing to a transport failed", extra={"eio_sid": conn.sid})
            self.close(conn, TRANSPORT_ERROR, packet=False, discard=True)

    def send(self, sock: Socket, packet: eio.Outgoing) -> None:
        """One packet to one socket (not held, not counted in the log)."""
        sock.conn.push(packet)

    def emit(self, sock: Socket, event: str, *args: Any) -> None:
        self.send(sock, sio.encode_event(sock.namespace.name, [event, *args]))

    def ack(self, sock: Socket, ack_id: int | None, args: list[Any]) -> None:
        if ack_id is not None:
            conn = sock.conn
            conn.push(sio.encode(sio.ACK, sock.namespace.name, args, ack_id))
            if conn.dirty:  # not when closed (push drops the packet)
                self._replied.append(conn)

    def recipients(
        self, namespace: str, rooms: list[str] | None = None, skip: str | None = None
    ) -> list[Socket]:
        """The sockets of `namespace` in any of `rooms` (all of them when None), each once."""
        ns = self.namespaces.get(namespace)
        return ns.recipients(rooms, skip) if ns is not None else []

    def broadcast(
        self,
        namespace: str,
        packet: eio.Outgoing,
        rooms: list[str] | None = None,
        skip: str | None = None,
        pos: Pos | None = None,
    ) -> int:
        positions = None if pos is None else [pos]
        return self.deliver(self.recipients(namespace, rooms, skip), [packet], positions)

    def deliver(
        self,
        members: list[Socket],
        packets: Sequence[eio.Outgoing],
        positions: Sequence[Pos] | None = None,
    ) -> int:
        """Append a run of encoded packets, in order, to every member; returns how many got it.

        A run's WebSocket frames are joined once, and a member whose queue is
        empty takes the joined bytes as one entry: a committed batch of
        messages to one room costs one append per recipient, not one per
        message, and its flush needs no join. A queue that already holds
        something takes the frames one by one, so `max_queue` still counts
        what waits for a slow client (give or take the one run a queue took
        whole). With positions (one per packet), sockets being restored hold
        the packets for later and every recipient remembers the last position
        (connection state recovery).
        """
        n = len(packets)
        if not members or not n:
            return 0
        frames = [p.ws for p in packets]
        run = frames[0] if n == 1 else b"".join(frames)
        last = positions[-1] if positions else None
        limit = self.options.max_queue
        dirty = self._dirty
        count = 0
        for sock in members:
            held = sock.held
            if held is not None:
                if positions is not None:
                    held.extend(zip(positions, packets, strict=True))
                continue
            conn = sock.conn
            out = conn.out
            raw = conn.sink.raw_ws
            if raw and not out:
                out.append(run)
            elif len(out) + n > limit:
                if last is not None:
                    sock.overflowed = True
                self._overflow(conn)
                continue
            else:
                out.extend(frames if raw else packets)
            if last is not None:
                sock.last_pos = last
            if not conn.dirty:
                conn.dirty = True
                dirty.append(conn)
            count += 1
        if dirty and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return count

    def _overflow(self, conn: Connection) -> None:
        if conn.closed:
            return
        self.on_overflow(conn)
        self.close(conn, SLOW_CONSUMER, packet=False, discard=True)

    # -- heartbeat and connect timeout ---------------------------------------------------

    def _send_ping(self, conn: Connection, generation: int) -> None:
        if conn.closed or generation != conn.hb_gen:
            return
        conn.awaiting_pong = True
        conn.hb_gen += 1
        conn.push(eio.PING_PACKET)
        self.timers.add(self._pong_due, conn, conn.hb_gen)

    def pong(self, conn: Connection) -> None:
        if not conn.awaiting_pong:
            return
        conn.awaiting_pong = False
        conn.hb_gen += 1
        self.timers.add(self._ping_due, conn, conn.hb_gen)

    def _pong_missed(self, conn: Connection, generation: int) -> None:
        if not conn.closed and generation == conn.hb_gen:
            self.close(conn, PING_TIMEOUT, packet=False)

    def _connect_expired(self, conn: Connection, _generation: int) -> None:
        if not conn.closed and not conn.joined:
            log.info("closing engine.io session %s: no namespace joined in time", conn.sid)
            self.close(conn, CONNECT_TIMEOUT)

    # -- upgrade (polling → websocket) ---------------------------------------------------

    def begin_upgrade(self, conn: Connection, sink: Sink) -> bool:
        if conn.closed or conn.upgrading is not None or not isinstance(conn.sink, PollingSink):
            return False
        conn.upgrading = sink
        return True

    def probe(self, conn: Connection, sink: Sink) -> None:
        sink.send_now(eio.PROBE_PONG)
        # The pending (or next) GET returns at once, so the client can finish the upgrade.
        conn.push(eio.NOOP_PACKET)

    def upgraded(self, conn: Connection, sink: Sink) -> None:
        old = conn.sink
        conn.upgrading = None
        conn.sink = sink
        pending = [p for p in conn.out if p is not eio.NOOP_PACKET]
        conn.out = [p.ws for p in pending] if sink.raw_ws else pending
        if isinstance(old, PollingSink):
            old.release([eio.NOOP_PACKET])
        if conn.out and not conn.dirty:
            self.mark_dirty(conn)

    def abandon_upgrade(self, conn: Connection, sink: Sink) -> None:
        if conn.upgrading is sink:
            conn.upgrading = None

    # -- input -----------------------------------------------------------------------------

    def engine_message(self, conn: Connection, data: str | bytes) -> None:
        if self.raw_message is not None:
            self.raw_message(conn, data)
            return
        try:
            if isinstance(data, bytes):
                assembling = conn.reassembler
                if assembling is None:
                    raise sio.SocketProtocolError("binary message without a packet")
                packet = assembling.add(data)
                if packet is None:
                    return
                conn.reassembler = None
            else:
                if conn.reassembler is not None:
                    raise sio.SocketProtocolError("text message while attachments are due")
                packet = sio.decode(data)
                if packet.attachments:
                    conn.reassembler = sio.Reassembler(packet)
                    return
        except sio.SocketProtocolError as exc:
            log.info("closing engine.io session %s: %s", conn.sid, exc)
            self.close(conn, PARSE_ERROR, packet=False)
            return
        self._socket_packet(conn, packet)

    def _socket_packet(self, conn: Connection, packet: sio.SioPacket) -> None:
        kind = packet.type
        if kind in (sio.EVENT, sio.BINARY_EVENT):
            sock = conn.sockets.get(packet.namespace)
            if sock is None or not sock.connected:
                return  # not (yet) connected to that namespace: nothing to deliver to
            try:
                sock.namespace.handler.on_event(sock, packet.data, packet.id)
            except Exception:
                log.exception("event handler failed", extra={"namespace": packet.namespace})
        elif kind == sio.CONNECT:
            self.spawn(self._connect(conn, packet.namespace, packet.data))
        elif kind == sio.DISCONNECT:
            sock = conn.sockets.get(packet.namespace)
            if sock is not None:
                self._remove(sock, CLIENT_NAMESPACE_DISCONNECT)
        # ACK: the server never asks clients for acks, so there is nothing to match.

    # -- CONNECT ---------------------------------------------------------------------------

    async def _connect(self, conn: Connection, name: str, auth: Any) -> None:
        ns = self.namespaces.get(name)
        if ns is None:
            conn.push(sio.encode(sio.CONNECT_ERROR, name, {"message": "Invalid namespace"}))
            return
        if name in conn.sockets:
            conn.push(sio.encode(sio.CONNECT_ERROR, name, {"message": "Already connected"}))
            return
        attempt = ConnectAttempt(conn, ns, auth)
        try:
            await ns.handler.on_connect(attempt)
            if attempt.socket is None:
                raise ConnectRefused({"message": "refused"})
        except ConnectRefused as exc:
            self._undo(attempt)
            conn.push(sio.encode(sio.CONNECT_ERROR, name, exc.data))
            return
        except Exception:
            log.exception("connect handler failed", extra={"namespace": name})
            self._undo(attempt)
            conn.push(sio.encode(sio.CONNECT_ERROR, name, {"message": "internal error"}))
            return
        sock = attempt.socket
        if sock.connected:
            try:
                await ns.handler.on_connected(sock)
            except Exception:
                log.exception("connected hook failed", extra={"namespace": name})

    def _undo(self, attempt: ConnectAttempt) -> None:
        sock = attempt.socket
        if sock is not None and sock.conn.sockets.get(sock.namespace.name) is sock:
            self._remove(sock, SERVER_NAMESPACE_DISCONNECT)

    def reserve(
        self, attempt: ConnectAttempt, *, sid: str | None = None, rooms: Iterable[str] = ()
    ) -> Socket:
        """Place a socket in its namespace and rooms, holding broadcasts until `release`."""
        conn, ns = attempt.conn, attempt.namespace
        if sid is not None and sid in ns.sockets:
            raise ConnectRefused({"message": "session already connected"})
        sock = Socket(sid or new_id(), ns, conn)
        sock.held = []
        ns.sockets[sock.sid] = sock
        for room in rooms:
            ns.join(sock, room)
        self._attach(attempt, sock)
        return sock

    def adopt(self, attempt: ConnectAttempt, sock: Socket) -> None:
        """Move a live socket onto this attempt's connection (its old transport is gone)."""
        old = sock.conn
        if old.sockets.get(sock.namespace.name) is sock:
            del old.sockets[sock.namespace.name]
        sock.conn = attempt.conn
        sock.connected = False
        sock.held = []
        self._attach(attempt, sock)

    def _attach(self, attempt: ConnectAttempt, sock: Socket) -> None:
        conn = attempt.conn
        conn.sockets[sock.namespace.name] = sock
        conn.joined = True
        attempt.socket = sock
        if conn.closed:  # the client left while the handler was busy
            self._remove(sock, TRANSPORT_CLOSE)

    def release(
        self,
        sock: Socket,
        answer: dict[str, Any],
        first: Iterable[eio.Outgoing] = (),
        *,
        after: Pos | None = None,
        last: Pos | None = None,
    ) -> None:
        """Send CONNECT, then `first`, then what was held after position `after`."""
        held, sock.held = sock.held or [], None
        if sock.conn.closed or sock.namespace.sockets.get(sock.sid) is not sock:
            return
        conn = sock.conn
        conn.push(sio.encode(sio.CONNECT, sock.namespace.name, {"sid": sock.sid, **answer}))
        # The answer leaves at once, in a write of its own: a client's first events
        # then never share a read with it (some WebSocket clients drop events that
        # arrive before their code, resumed by the CONNECT, has registered listeners).
        conn.sink.flush(conn)
        for packet in first:
            conn.push(packet)
        for pos, packet in held:
            if after is None or pos > after:
                conn.push(packet)
                last = pos
        if last is not None:
            sock.last_pos = last
        sock.connected = True

    def accept(
        self, attempt: ConnectAttempt, answer: dict[str, Any] | None = None, **kwargs: Any
    ) -> Socket:
        sock = self.reserve(attempt, **kwargs)
        self.release(sock, answer or {})
        return sock

    # -- rooms and namespace disconnect ------------------------------------------------------

    def join(self, sock: Socket, room: str) -> None:
        if sock.namespace.sockets.get(sock.sid) is sock:
            sock.namespace.join(sock, room)

    def leave(self, sock: Socket, room: str) -> None:
        sock.namespace.leave(sock, room)

    def disconnect(self, sock: Socket) -> None:
        """Server-side namespace disconnect: the client is told, and does not reconnect."""
        if sock.conn.sockets.get(sock.namespace.name) is sock:
            sock.conn.push(sio.encode(sio.DISCONNECT, sock.namespace.name))
            self._remove(sock, SERVER_NAMESPACE_DISCONNECT)

    def _remove(self, sock: Socket, reason: str) -> None:
        ns = sock.namespace
        if ns.sockets.get(sock.sid) is sock:
            del ns.sockets[sock.sid]
        for room in sock.rooms:
            members = ns.rooms.get(room)
            if members is not None:
                members.discard(sock)
                if not members:
                    del ns.rooms[room]
        conn = sock.conn
        if conn.sockets.get(ns.name) is sock:
            del conn.sockets[ns.name]
        sock.connected = False
        try:
            ns.handler.on_disconnect(sock, reason)
        except Exception:
            log.exception("disconnect handler failed", extra={"namespace": ns.name})

    # -- tasks -----------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
