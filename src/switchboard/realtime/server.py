"""`RealtimeServer`: the Socket.IO server and everything a socket touches.

It wires the transport (`switchboard.transport`) to Switchboard's parts:
token checks, presence, the emitter, recovery, metrics; the backend
(`realtime/backends`) supplies the event log and the presence store. One
instance per app, so two apps in one process stay apart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from switchboard.auth.tokens import TokenService
from switchboard.config import Settings
from switchboard.metrics import Metrics
from switchboard.realtime.backends import Backend
from switchboard.realtime.emitter import Emitter, EventListener, RoomListener
from switchboard.realtime.namespace import SocketNamespace
from switchboard.realtime.presence import PresenceStore
from switchboard.realtime.recovery import Recovery
from switchboard.transport import Connection, Server, ServerOptions
from switchboard.types import Sid, UserId

log = logging.getLogger("switchboard.realtime")

PresenceListener = Callable[[UserId, bool], Awaitable[None]]

# Engine.IO heartbeat, as Socket.IO's defaults: a lost client is noticed within 45 s.
PING_INTERVAL_SECONDS = 25.0
PING_TIMEOUT_SECONDS = 20.0


class RealtimeServer:
    def __init__(
        self,
        settings: Settings,
        tokens: TokenService,
        metrics: Metrics,
        backend: Backend,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.metrics = metrics
        self.presence: PresenceStore = backend.presence(self.presence_changed)
        self.io = Server(
            ServerOptions(
                ping_interval=PING_INTERVAL_SECONDS,
                ping_timeout=PING_TIMEOUT_SECONDS,
                max_payload=settings.max_http_buffer_size,
                connect_timeout=settings.connect_timeout_seconds,
                max_queue=settings.max_queue,
                compression=settings.ws_compression,
                # The header a host's tokens or authenticate hook may come in.
                kept_headers=tuple(
                    dict.fromkeys((*ServerOptions().kept_headers, settings.auth_header))
                ),
            )
        )
        self.io.on_overflow = self._on_overflow
        # Every broadcast goes through the log, recovery on or off.
        self.events = backend.event_log(float(settings.recovery_seconds))
        # Connection state recovery (settings.recovery_seconds; 0 disables).
        self.recovery: Recovery | None = None
        if settings.recovery_seconds > 0:
            self.recovery = Recovery(self.io, self.events, settings.recovery_seconds, metrics)
        self.emitter = Emitter(self.io, self.events, offsets=self.recovery is not None)
        self._started = False
        self._start_lock = asyncio.Lock()
        self.namespaces: dict[str, SocketNamespace] = {}
        self._presence_listeners: list[PresenceListener] = []
        # A logout (on any node) ends the live sockets of the revoked token at once.
        tokens.on_revoked(self._revoked)

    # -- wiring ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the event log readers (idempotent; also run by the first connection)."""
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            await self.events.start(list(self.namespaces))
            self._started = True

    def register(self, namespace: SocketNamespace) -> None:
        self.namespaces[namespace.name] = namespace
        self.io.add_namespace(namespace.name, namespace)

    def on_presence_change(self, listener: PresenceListener) -> None:
        """Call `listener(user_id, online)` when a user's first socket connects or last leaves."""
        self._presence_listeners.append(listener)

    def on_room_change(self, listener: RoomListener) -> None:
        """Call `listener(namespace, "join" | "leave", user_id, room)` for every
        `join_user_to_room`/`leave_user_from_room` of any node, in log order."""
        self.emitter.room_listeners.append(listener)

    def on_logged_event(self, event: str, listener: EventListener) -> None:
        """Call `listener(namespace, rooms)` for every broadcast of `event` from any node,
        in log order, whether or not this node has a socket to deliver it to."""
        self.emitter.event_listeners.setdefault(event, []).append(listener)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background task that is kept alive, logged if it fails, ended at close."""
        return self.io.spawn(coro)

    # -- socket lifecycle (called by SocketNamespace) ----------------------------------

    async def socket_connected(self, namespace: str, sid: Sid, user_id: UserId) -> None:
        self.metrics.socket_connected(namespace)
        if await self.presence.add(user_id, sid):
            await self.presence_changed(user_id, True)

    async def socket_disconnected(self, namespace: str, sid: Sid, user_id: UserId) -> None:
        self.metrics.socket_disconnected(namespace)
        if await self.presence.remove(user_id, sid):
            await self.presence_changed(user_id, False)

    async def presence_changed(self, user_id: UserId, online: bool) -> None:
        self.metrics.online_users_changed(+1 if online else -1)
        for listener in self._presence_listeners:
            try:
                await listener(user_id, online)
            except Exception:
                log.exception("presence listener failed", extra={"user_id": user_id})

    async def _revoked(self, user_id: UserId, jti: str | None) -> None:
        for namespace in self.namespaces.values():
            namespace.end_revoked(user_id, jti)

    def _on_overflow(self, conn: Connection) -> None:
        log.warning("slow consumer disconnected", extra={"eio_sid": conn.sid})
        self.metrics.slow_consumer()

    # -- rooms -----------------------------------------------------------------------

    async def join_user_to_room(self, user_id: UserId, room: str, namespace: str) -> None:
        """Make every live socket of a user in `namespace` join `room`."""
        # Through the log: sockets on every node join, and a session restored
        # later learns the room too.
        await self.emitter.join_user(user_id, room, namespace)

    async def leave_user_from_room(self, user_id: UserId, room: str, namespace: str) -> None:
        """Take every live socket of a user in `namespace` out of `room`, on every node."""
        await self.emitter.leave_user(user_id, room, namespace)

    # -- shutdown --------------------------------------------------------------------

    async def drain(self) -> None:
        """Drop every transport (no CLOSE packet), so that clients reconnect (to another node)."""
        await self.io.drain()

    async def close(self) -> None:
        await self.io.shutdown()
        await self.presence.close()
        await self.events.close()
