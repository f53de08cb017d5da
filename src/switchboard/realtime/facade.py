"""`Realtime`: emit from anywhere — what a Node app calls `getIO()`.

An HTTP route, a scheduled job or a service holds a `Realtime` (from the app
context) and calls `to_user`, `to_room`, `to_namespace`. Before the server has
started, or after it stopped, each call raises `RealtimeNotStartedError`
instead of silently dropping the event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from switchboard.errors import RealtimeNotStartedError
from switchboard.types import CHAT, NOTIFICATIONS, Broadcast, Room, Sid, UserId, user_room

if TYPE_CHECKING:
    from switchboard.realtime.presence import PresenceStore
    from switchboard.realtime.server import RealtimeServer


class Realtime:
    def __init__(self) -> None:
        self._server: RealtimeServer | None = None

    def bind(self, server: RealtimeServer) -> None:
        self._server = server

    def unbind(self) -> None:
        self._server = None

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def server(self) -> RealtimeServer:
        if self._server is None:
            raise RealtimeNotStartedError(
                "the Switchboard realtime server is not running: emit only after the app "
                "has started (inside its lifespan), e.g. from a route, job or service"
            )
        return self._server

    @property
    def presence(self) -> PresenceStore:
        return self.server.presence

    async def to_user(
        self, user_id: UserId, event: str, data: Any, *, namespace: str = NOTIFICATIONS
    ) -> None:
        """Every socket of `user_id` in `namespace` (room `user:{id}`)."""
        await self.server.emitter.broadcast(
            event, data, namespace=namespace, room=user_room(user_id)
        )

    async def to_room(
        self,
        room: Room | Sequence[Room],
        event: str,
        data: Any,
        *,
        namespace: str = CHAT,
        skip_sid: Sid | None = None,
    ) -> None:
        await self.server.emitter.broadcast(
            event, data, namespace=namespace, room=room, skip_sid=skip_sid
        )

    async def to_rooms(self, broadcasts: Sequence[Broadcast], *, namespace: str) -> None:
        """Several `to_room`s in order, as one append to the log (a committed batch)."""
        await self.server.emitter.broadcast_many(namespace, broadcasts)

    async def to_namespace(self, event: str, data: Any, *, namespace: str) -> None:
        await self.server.emitter.broadcast(event, data, namespace=namespace)

    async def to_socket(self, sid: Sid, event: str, data: Any, *, namespace: str) -> None:
        await self.server.emitter.to_socket(sid, event, data, namespace=namespace)

    async def join_user_to_room(
        self, user_id: UserId, room: Room, *, namespace: str = CHAT
    ) -> None:
        """Make a user's live sockets join `room` at once (e.g. a new conversation)."""
        await self.server.join_user_to_room(user_id, room, namespace)

    async def leave_user_from_room(
        self, user_id: UserId, room: Room, *, namespace: str = CHAT
    ) -> None:
        """Take a user's live sockets out of `room` on every node (e.g. they left it).

        A session restored later does not get the room back either.
        """
        await self.server.leave_user_from_room(user_id, room, namespace)
