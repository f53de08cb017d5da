"""The one place where a broadcast leaves the process.

Every server-to-client event — from a socket handler, an HTTP route, the
scheduler or the internal API — goes through `Emitter`. Recovery (offsets and
the replay log), clustering (cross-node delivery) and the fast fan-out path
all hook in here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from switchboard.realtime.recovery_store import EventLog, LogRecord, MemoryLog, Pos, format_pos
from switchboard.types import Room, Sid, user_room


class EmitHook(Protocol):
    """Something told of every broadcast this node delivered, and to how many sockets.

    Called from `deliver` with the count the fan-out path already has, so
    observing a broadcast costs no second walk over its rooms.
    """

    def on_delivered(self, namespace: str, event: str, recipients: int) -> None: ...


class Emitter:
    """Broadcasts go into the ordered event log; `deliver` hands each entry to local sockets.

    In memory the log delivers at once; with Redis every node (this one
    included) reads the stream and delivers. With `offsets`, each broadcast
    carries its log position as a last argument (connection state recovery).
    """

    def __init__(self, sio: Any, events: EventLog | None = None, *, offsets: bool = False) -> None:
        self._sio = sio
        self.hooks: list[EmitHook] = []
        self.offsets = offsets
        self.events: EventLog = events or MemoryLog(0, keep=False)
        self.events.bind(self.deliver)

    async def broadcast(
        self,
        event: str,
        data: Any,
        *,
        namespace: str,
        room: Room | Sequence[Room] | None = None,
        skip_sid: Sid | None = None,
    ) -> None:
        """Send to every socket in `room` (or the whole namespace when None), on every node.

        With a list of rooms, a socket in several of them gets the event once.
        """
        rooms = None if room is None else [room] if isinstance(room, str) else list(room)
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        await self.events.publish(namespace, LogRecord("event", event, args, rooms, skip_sid))

    async def join_user(self, user_id: int, room: Room, namespace: str) -> None:
        """Make a user's sockets join `room` on every node (a control entry in the log)."""
        await self.events.publish(namespace, LogRecord("join", user_id=user_id, room=room))

    def deliver(self, namespace: str, pos: Pos, record: LogRecord) -> None:
        """Apply one log entry to this node's sockets (synchronously, in log order)."""
        manager = self._sio.manager
        if record.kind == "join":
            members = manager.rooms.get(namespace, {}).get(user_room(record.user_id or 0))
            for sid in list(members or ()):
                manager.basic_enter_room(sid, namespace, record.room)
            return
        rooms = record.rooms
        target: str | list[str] | None = rooms[0] if rooms and len(rooms) == 1 else rooms
        recipients = manager.recipients(namespace, target, record.skip)
        if not recipients:
            return
        args = [record.event, *record.args]
        if self.offsets:
            args.append(format_pos(pos))
        # Encoded once, offset included: it is the same for every recipient.
        count: int = manager.deliver(
            manager.encode_event(namespace, args), recipients, pos if self.offsets else None
        )
        if count:
            for hook in self.hooks:
                hook.on_delivered(namespace, record.event, count)

    async def to_socket(self, sid: Sid, event: str, data: Any, *, namespace: str) -> None:
        """Send to one socket: a reply-like event, never replayed by recovery."""
        await self._sio.emit(event, data, namespace=namespace, to=sid)
