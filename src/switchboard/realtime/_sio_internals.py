"""Everything that reaches into python-socketio / python-engineio internals.

Written against python-socketio 5.18.1 and python-engineio 4.15.1, pinned
exactly in pyproject.toml: re-read this module before moving either pin.

What it changes, and why:
- `_handle_connect`: a refused namespace gets a CONNECT_ERROR whose payload is
  an object with a `message` (the library sends a bare string, which leaves
  socket.io-client's `err.message` undefined); the namespace handler gets two
  hooks, `authenticate` (before CONNECT is sent, may add fields to the CONNECT
  answer) and `connected` (after the client has its CONNECT), so that work a
  client must see after `connect` (first events, presence) is ordered right.
- `_handle_eio_connect`: only the few handshake headers we read are kept per
  connection, not the whole ASGI scope (memory per connection), and an
  Engine.IO session that joins no namespace within the connect timeout is
  closed, as Socket.IO's `connectTimeout` does.
- `_EagerPollSocket.poll`: a socket's writer takes waiting packets without
  creating a Task per wake-up.
- `FanoutManager.emit`: a broadcast is encoded once and put straight on each
  recipient's Engine.IO queue, instead of one `asyncio.Task` per recipient;
  a recipient whose queue is past `max_queue` is disconnected (slow consumer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

import socketio
from bidict import ValueDuplicationError
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from switchboard.realtime.recovery import Claim, Recovery, Track, new_pid
from switchboard.realtime.recovery_store import Pos, format_pos
from switchboard.types import EioSid, Sid

log = logging.getLogger("switchboard.realtime")

# The handshake headers Switchboard reads after the handshake; nothing else is kept.
_KEPT_ENVIRON_KEYS = ("HTTP_COOKIE", "REMOTE_ADDR", "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR")


def slim_environ(environ: Mapping[str, Any]) -> dict[str, Any]:
    slim = {k: environ[k] for k in _KEPT_ENVIRON_KEYS if k in environ}
    scope = environ.get("asgi.scope")
    if "REMOTE_ADDR" not in slim and isinstance(scope, dict):
        client = scope.get("client")
        if client:
            slim["REMOTE_ADDR"] = client[0]
    return slim


class ConnectHooks(Protocol):
    """What a namespace handler implements to take part in the CONNECT handshake."""

    async def authenticate(
        self, sid: Sid, environ: Mapping[str, Any], auth: object
    ) -> dict[str, Any]:
        """Accept (returning extra CONNECT fields) or raise ConnectionRefusedError."""
        ...

    async def connected(self, sid: Sid) -> None:
        """The client has its CONNECT answer; the socket is fully connected."""
        ...

    @property
    def sockets(self) -> Mapping[Sid, Any]:
        """Live sockets by sid, each with a `user_id`."""
        ...


class _PreEncodedPacket(eio_packet.Packet):  # type: ignore[misc]
    """An Engine.IO packet encoded once and shared by every recipient of a broadcast."""

    def __init__(self, encoded: str | bytes, binary: bool) -> None:
        super().__init__(eio_packet.MESSAGE, encoded)
        self._encoded: str | bytes = encoded if binary else "4" + encoded  # type: ignore[operator]

    def encode(self, b64: bool = False) -> Any:
        if b64 and isinstance(self._encoded, bytes):
            return super().encode(b64=True)
        return self._encoded


class _EagerPollSocket(AsyncSocket):  # type: ignore[misc]
    """An Engine.IO socket whose websocket writer waits without a new Task.

    engineio's `poll` always awaits `asyncio.wait_for(queue.get(), timeout)`,
    which creates a Task and a timer for every wake-up of every socket's
    writer: a fifth of the CPU of a fan-out to 1,000 sockets (py-spy). The
    timeout only matters to a long-poll, which must answer in time; a
    websocket writer is always released by its reader, which puts a None on
    the queue when the connection ends (or times out its pings). So a
    websocket writer awaits the queue directly; long-polls keep engineio's code.
    """

    async def poll(self) -> list[Any]:
        queue = self.queue
        if queue.empty():
            if not self.upgraded:
                packets: list[Any] = await super().poll()
                return packets
            try:
                first = await queue.get()
            except asyncio.CancelledError:
                # As engineio's poll does: a cancelled wait ends the writer quietly.
                raise eio_exceptions.QueueEmpty() from None
        else:
            first = queue.get_nowait()
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        # The same drain as engineio's: stop at a None (and leave it for the next poll).
        while not queue.empty():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)
                break
            packets.append(pkt)
        return packets


class FanoutManager(socketio.AsyncManager):  # type: ignore[misc]
    """The in-process client manager with a fast, bounded broadcast path."""

    def __init__(self, max_queue: int) -> None:
        super().__init__()
        self.max_queue = max_queue
        self.on_overflow: Callable[[EioSid], None] = lambda _eio_sid: None
        self.on_forget: Callable[[Sid], None] = lambda _sid: None
        # Recovery: sockets being restored (deliveries wait here), last position
        # queued per socket, sockets that overflowed (their last entry was lost).
        self.holding: dict[Sid, list[tuple[Pos, list[_PreEncodedPacket]]]] = {}
        self.last_sent: dict[Sid, Pos] = {}
        self.overflowed: set[Sid] = set()

    def encode_event(self, namespace: str, data: list[Any]) -> list[_PreEncodedPacket]:
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=data)
        encoded = pkt.encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        return [_PreEncodedPacket(p, isinstance(p, bytes)) for p in parts]

    def deliver(
        self,
        packets: list[_PreEncodedPacket],
        recipients: Iterable[tuple[Sid, EioSid]],
        pos: Pos | None = None,
    ) -> int:
        """Queue pre-encoded packets for each recipient; returns how many got them.

        With a log position (`pos`), a recipient being restored gets the packets
        held for later, and each recipient remembers the last position queued.
        """
        sockets = self.server.eio.sockets
        limit = self.max_queue
        holding = self.holding
        last_sent = self.last_sent
        count = 0
        for sid, eio_sid in recipients:
            if holding and sid in holding:
                if pos is not None:
                    holding[sid].append((pos, packets))
                continue
            sock = sockets.get(eio_sid)
            if sock is None or sock.closing or sock.closed:
                continue
            queue = sock.queue
            if queue.qsize() >= limit:
                if pos is not None:
                    self.overflowed.add(sid)
                self.on_overflow(eio_sid)
                continue
            for p in packets:
                queue.put_nowait(p)
            if pos is not None:
                last_sent[sid] = pos
            count += 1
        return count

    def queue_now(self, eio_sid: EioSid, packets: Iterable[_PreEncodedPacket]) -> bool:
        """Put packets on one Engine.IO queue without yielding to the event loop."""
        sock = self.server.eio.sockets.get(eio_sid)
        if sock is None or sock.closing or sock.closed:
            return False
        for p in packets:
            sock.queue.put_nowait(p)
        return True

    def pre_connect_as(self, sid: Sid, eio_sid: EioSid, namespace: str) -> bool:
        """`pre_connect` with a given sid (a restored session keeps its id)."""
        ns = self.rooms.get(namespace, {})
        if sid in ns.get(None, {}):
            return False  # the old socket is still connected
        try:
            self.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
        except ValueDuplicationError:
            return False
        self.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
        self.pending_connect.setdefault(namespace, []).append(sid)
        return True

    async def disconnect(self, sid: Sid, namespace: str, **kwargs: Any) -> None:
        self.holding.pop(sid, None)
        self.last_sent.pop(sid, None)
        self.overflowed.discard(sid)
        self.on_forget(sid)
        await super().disconnect(sid, namespace, **kwargs)

    def recipients(
        self, namespace: str, room: str | list[str] | None, skip_sid: Any
    ) -> list[tuple[Sid, EioSid]]:
        ns = self.rooms.get(namespace)
        if not ns:
            return []
        if skip_sid is None:
            skip: set[Any] = set()
        elif isinstance(skip_sid, list | tuple | set):
            skip = set(skip_sid)
        else:
            skip = {skip_sid}
        if room is None or isinstance(room, str):
            members = ns.get(room)
            if not members:
                return []
            return [(s, e) for s, e in members.items() if s not in skip and s is not None]
        seen: dict[Sid, EioSid] = {}
        for r in room:
            members = ns.get(r)
            if members:
                seen.update(members)
        return [(s, e) for s, e in seen.items() if s not in skip]

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to
            )
            return
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        recipients = self.recipients(namespace, to or room, skip_sid)
        if recipients:
            self.deliver(self.encode_event(namespace, [event, *args]), recipients)


AfterConnect = Callable[[Sid], Awaitable[None]]


class SocketIOServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's AsyncServer with Switchboard's handshake rules."""

    def __init__(self, *, connect_timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._connect_timeout = connect_timeout
        self._connect_deadlines: dict[str, asyncio.TimerHandle] = {}
        # Set by RealtimeServer when connection state recovery is on.
        self.recovery: Recovery | None = None
        self.on_first_connect: Callable[[], Awaitable[None]] | None = None

    # -- Engine.IO session lifecycle -------------------------------------------------

    async def _handle_eio_connect(self, eio_sid: str, environ: Mapping[str, Any]) -> None:
        if self.on_first_connect is not None:
            await self.on_first_connect()
        await super()._handle_eio_connect(eio_sid, slim_environ(environ))
        sock = self.eio.sockets.get(eio_sid)
        if type(sock) is AsyncSocket:
            # engineio has just created it (AsyncServer._handle_connect); see _EagerPollSocket.
            sock.__class__ = _EagerPollSocket
        loop = asyncio.get_running_loop()
        self._connect_deadlines[eio_sid] = loop.call_later(
            self._connect_timeout, self._connect_deadline_passed, eio_sid
        )

    def _connect_deadline_passed(self, eio_sid: str) -> None:
        self._connect_deadlines.pop(eio_sid, None)
        log.info("closing engine.io session %s: no namespace joined in time", eio_sid)
        task = asyncio.ensure_future(end_transport(self, eio_sid, "connect timeout"))
        _background.add(task)
        task.add_done_callback(_background.discard)

    def _namespace_joined(self, eio_sid: str) -> None:
        handle = self._connect_deadlines.pop(eio_sid, None)
        if handle is not None:
            handle.cancel()

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._namespace_joined(eio_sid)
        if reason == self.reason.CLIENT_DISCONNECT:
            # The client sent CLOSE (over a polling POST): engineio aborts without
            # answering the client's pending long-poll GET, which would then hang
            # for pingInterval + pingTimeout. A None in the queue answers it now.
            sock = self.eio.sockets.get(eio_sid)
            if sock is not None:
                sock.queue.put_nowait(None)
        if self.recovery is not None:
            # A lost transport (not a Socket.IO DISCONNECT) leaves a session behind.
            for session in self._sessions_of(EioSid(eio_sid)):
                await self.recovery.persist(session)
        await super()._handle_eio_disconnect(eio_sid, reason)

    def _sessions_of(self, eio_sid: EioSid) -> list[Any]:
        """Snapshot every namespace socket of a dropping connection, before it leaves its rooms."""
        assert self.recovery is not None
        manager: FanoutManager = self.manager
        sessions = []
        for namespace in list(manager.get_namespaces()):
            sid = manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is None or not manager.is_connected(sid, namespace):
                continue
            rooms = [r for r in manager.get_rooms(sid, namespace) if r is not None and r != sid]
            session = self.recovery.session_of(
                namespace,
                sid,
                rooms,
                manager.last_sent.get(sid),
                sid in manager.overflowed,
            )
            if session is not None:
                sessions.append(session)
        return sessions

    # -- Socket.IO CONNECT -------------------------------------------------------------

    async def _refuse(self, eio_sid: str, namespace: str, payload: dict[str, Any]) -> None:
        await self._send_packet(
            eio_sid, self.packet_class(sio_packet.CONNECT_ERROR, data=payload, namespace=namespace)
        )

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        namespace = namespace or "/"
        handler: ConnectHooks | None = self.namespace_handlers.get(namespace)
        if handler is None:
            await self._refuse(eio_sid, namespace, {"message": "Invalid namespace"})
            return
        manager: FanoutManager = self.manager
        recovery = self.recovery
        claim: Claim | None = None
        if recovery is not None:
            claim = await recovery.claim(namespace, self.environ.get(eio_sid, {}), data)
        sid: Sid | None = None
        if claim is not None:
            sid = Sid(claim.session.sid)
            if manager.pre_connect_as(sid, EioSid(eio_sid), namespace):
                # Deliveries to the socket wait until its replay is queued.
                manager.holding[sid] = []
                for room in claim.session.rooms:
                    manager.basic_enter_room(sid, namespace, room)
            else:
                await recovery.give_back(claim)  # type: ignore[union-attr]
                claim, sid = None, None
        if sid is None:
            sid = await manager.pre_connect(eio_sid, namespace)
        if sid is None:
            await self._refuse(eio_sid, namespace, {"message": "Already connected"})
            return
        start = recovery.events.processed(namespace) if recovery is not None else None
        try:
            extra = await handler.authenticate(sid, self.environ.get(eio_sid, {}), data)
        except socketio.exceptions.ConnectionRefusedError as exc:
            await self._abandon(sid, namespace, claim)
            await self._refuse(eio_sid, namespace, exc.error_args)
            return
        except Exception:
            log.exception("connect handler failed", extra={"namespace": namespace, "sid": sid})
            await self._abandon(sid, namespace, claim)
            await self._refuse(eio_sid, namespace, {"message": "internal error"})
            return
        if recovery is None or start is None:
            answer: dict[str, Any] = {"sid": sid, **extra}
            await self._send_packet(
                eio_sid, self.packet_class(sio_packet.CONNECT, answer, namespace=namespace)
            )
        elif claim is None or not await self._restore(eio_sid, sid, namespace, claim, extra):
            await self._connect_new(eio_sid, sid, namespace, handler, start, extra, claim)
        await self.manager.connect(sid, namespace)
        self._namespace_joined(eio_sid)
        await handler.connected(sid)

    async def _abandon(self, sid: Sid, namespace: str, claim: Claim | None) -> None:
        if claim is not None and self.recovery is not None:
            await self.recovery.give_back(claim)
        await self.manager.disconnect(sid, namespace, ignore_queue=True)

    async def _connect_new(
        self,
        eio_sid: str,
        sid: Sid,
        namespace: str,
        handler: ConnectHooks,
        start: Pos,
        extra: dict[str, Any],
        failed: Claim | None,
    ) -> None:
        """A new session: a fresh pid (also when a claimed session could not be replayed)."""
        assert self.recovery is not None
        manager: FanoutManager = self.manager
        if failed is not None:
            # Only the rooms the namespace just granted, not the old session's.
            granted = set(self.rooms(sid, namespace))
            manager.holding.pop(sid, None)
            for room in set(failed.session.rooms) - granted:
                manager.basic_leave_room(sid, namespace, room)
        state = handler.sockets.get(sid)
        pid = new_pid()
        if state is not None:
            self.recovery.track(sid, Track(pid, state.user_id, start))
        await self._send_packet(
            eio_sid,
            self.packet_class(
                sio_packet.CONNECT, {"sid": sid, "pid": pid, **extra}, namespace=namespace
            ),
        )

    async def _restore(
        self, eio_sid: str, sid: Sid, namespace: str, claim: Claim, extra: dict[str, Any]
    ) -> bool:
        """Answer CONNECT with the old sid and pid, then every missed entry, in order."""
        assert self.recovery is not None
        manager: FanoutManager = self.manager
        replay = await self.recovery.replay(namespace, sid, claim)
        if replay is None:
            return False
        # From here to the end nothing awaits: no delivery can slip in between.
        for room in replay.rooms:
            manager.basic_enter_room(sid, namespace, room)
        held = manager.holding.pop(sid, [])
        session = claim.session
        connect = self.packet_class(
            sio_packet.CONNECT, {"sid": sid, "pid": session.pid, **extra}, namespace=namespace
        ).encode()
        packets: list[_PreEncodedPacket] = [_PreEncodedPacket(connect, False)]
        last = claim.client_offset if claim.client_offset == session.last_sent else None
        for pos, record in replay.entries:
            packets.extend(
                manager.encode_event(namespace, [record.event, *record.args, format_pos(pos)])
            )
            last = pos
        for pos, pending in held:
            if pos > replay.upto:
                packets.extend(pending)
                last = pos
        if not manager.queue_now(EioSid(eio_sid), packets):
            return True  # the transport closed meanwhile; the disconnect handles the rest
        if last is not None:
            manager.last_sent[sid] = last
        self.recovery.track(sid, Track(session.pid, session.user_id, session.start))
        self.recovery.succeeded()
        return True


_background: set[asyncio.Future[Any]] = set()


def eio_socket_count(server: SocketIOServer) -> int:
    return len(server.eio.sockets)


async def end_transport(
    server: SocketIOServer,
    eio_sid: str,
    reason: str,
    *,
    discard_queued: bool = False,
    say_close: bool = True,
) -> None:
    """End one Engine.IO session from the server side, transport included.

    engineio's own `disconnect` queues a CLOSE packet and then waits for the
    client to hang up; a client that never does (half-open handshakes, slow
    consumers) would keep the connection. A None after the CLOSE ends the
    websocket writer (which closes the websocket) and answers a pending
    long-poll at once. `discard_queued` drops what a slow consumer never read.
    Without `say_close` no CLOSE packet is sent: the client sees a lost
    transport, which every Socket.IO client (python-socketio's included, which
    does not reconnect after a CLOSE packet) answers by reconnecting.
    """
    sock = server.eio.sockets.get(eio_sid)
    if sock is None:
        return
    if discard_queued:
        while not sock.queue.empty():
            sock.queue.get_nowait()
            sock.queue.task_done()
    if not sock.closed:
        await sock.close(wait=False, abort=not say_close, reason=reason)
    sock.queue.put_nowait(None)


async def close_transports(server: SocketIOServer) -> None:
    """End every Engine.IO session as a lost transport, so clients reconnect.

    A Socket.IO DISCONNECT would tell clients not to reconnect; a dropped
    transport is retried (elsewhere, behind a load balancer) — what a rolling
    restart needs.
    """
    await asyncio.gather(
        *(
            end_transport(server, eio_sid, "server shutting down", say_close=False)
            for eio_sid in list(server.eio.sockets)
        ),
        return_exceptions=True,
    )
