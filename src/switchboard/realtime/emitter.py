"""The one place where a broadcast leaves the process.

Every server-to-client event — from a socket handler, an HTTP route, the
scheduler or the internal API — goes through `Emitter`: `broadcast` appends
it to the ordered event log (memory, or a Redis Stream shared by the nodes),
and `deliver`, run for every log entry in order on every node, encodes it
once and hands it to the transport's fan-out for this node's sockets.
Recovery offsets and cross-node delivery hook in here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from switchboard.realtime.backends.memory import MemoryLog
from switchboard.realtime.event_log import Entry, EventLog, LogRecord, format_pos
from switchboard.transport import Server, encode_event
from switchboard.types import Broadcast, Room, Sid, UserId, user_room


class EmitHook(Protocol):
    """Something told of every broadcast this node delivered, and to how many sockets.

    Called from `deliver` with the count the fan-out path already has, so
    observing a broadcast costs no second walk over its rooms.
    """

    def on_delivered(self, namespace: str, event: str, recipients: int) -> None: ...


# Told of every join/leave entry this node applies: (namespace, kind, user id, room).
RoomListener = Callable[[str, str, UserId, Room], None]
# Told of every broadcast entry of one event this node applies: (namespace, rooms);
# rooms is None for a whole-namespace broadcast.
EventListener = Callable[[str, "list[Room] | None"], None]


class Emitter:
    """Broadcasts go into the ordered event log; `deliver` hands each entry to local sockets.

    In memory the log delivers at once; with Redis every node (this one
    included) reads the stream and delivers. With `offsets`, each broadcast
    carries its log position as a last argument (connection state recovery).
    """

    def __init__(
        self, io: Server, events: EventLog | None = None, *, offsets: bool = False
    ) -> None:
        self._io = io
        self.hooks: list[EmitHook] = []
        self.room_listeners: list[RoomListener] = []
        # event name -> listeners (RealtimeServer.on_logged_event)
        self.event_listeners: dict[str, list[EventListener]] = {}
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
        await self.events.publish(namespace, LogRecord.broadcast(event, data, room, skip_sid))

    async def broadcast_many(self, namespace: str, broadcasts: Sequence[Broadcast]) -> None:
        """`broadcast` each `(room, event, data)` in order: one append to a shared log."""
        await self.events.publish_many(
            namespace, [LogRecord.broadcast(event, data, room) for room, event, data in broadcasts]
        )

    async def join_user(self, user_id: int, room: Room, namespace: str) -> None:
        """Make a user's sockets join `room` on every node (a control entry in the log)."""
        await self.events.publish(namespace, LogRecord("join", user_id=user_id, room=room))

    async def leave_user(self, user_id: int, room: Room, namespace: str) -> None:
        """Take a user's sockets out of `room` on every node (a control entry in the log)."""
        await self.events.publish(namespace, LogRecord("leave", user_id=user_id, room=room))

    def deliver(self, namespace: str, entries: Sequence[Entry]) -> None:
        """Apply log entries to this node's sockets (synchronously, in log order).

        Consecutive broadcasts to the same rooms (a committed batch of messages
        to one conversation) reach the transport as one run: their recipients
        are found once and each socket takes the run in one append.
        """
        i, n = 0, len(entries)
        while i < n:
            record = entries[i][1]
            if record.kind in ("join", "leave"):
                self._apply_membership(namespace, record)
                i += 1
                continue
            end = i + 1
            while end < n and _same_audience(entries[end][1], record):
                end += 1
            self._deliver_run(namespace, entries[i:end])
            i = end

    def _apply_membership(self, namespace: str, record: LogRecord) -> None:
        if not record.room:
            return
        io = self._io
        ns = io.namespaces.get(namespace)
        if ns is not None:
            apply = io.join if record.kind == "join" else io.leave
            for sock in list(ns.members(user_room(record.user_id or 0))):
                apply(sock, record.room)
        for listener in self.room_listeners:
            listener(namespace, record.kind, record.user_id or 0, record.room)

    def _deliver_run(self, namespace: str, run: Sequence[Entry]) -> None:
        """Broadcasts that share their rooms and skipped socket, in order."""
        rooms, skip = run[0][1].rooms, run[0][1].skip
        for _pos, record in run:
            listeners = self.event_listeners.get(record.event)
            if listeners is not None:
                # Whether or not this node has a recipient: memory of other nodes' changes.
                for event_listener in listeners:
                    event_listener(namespace, rooms)
        io = self._io
        recipients = io.recipients(namespace, rooms, skip)
        if not recipients:
            return
        offsets = self.offsets
        packets = []
        for pos, record in run:
            args = [record.event, *record.args]
            if offsets:
                args.append(format_pos(pos))
            # Encoded once, offset included: the same packet for every recipient.
            packets.append(encode_event(namespace, args))
        count = io.deliver(recipients, packets, [pos for pos, _ in run] if offsets else None)
        if count:
            for hook in self.hooks:
                for _pos, record in run:
                    hook.on_delivered(namespace, record.event, count)

    async def to_socket(self, sid: Sid, event: str, data: Any, *, namespace: str) -> None:
        """Send to one socket of this node: a reply-like event, never replayed by recovery."""
        sock = self._io.socket(namespace, sid)
        if sock is not None:
            self._io.emit(sock, event, data)


def _same_audience(record: LogRecord, first: LogRecord) -> bool:
    """Whether `record` is a broadcast that reaches exactly the sockets `first` reaches."""
    return record.kind == "event" and record.rooms == first.rooms and record.skip == first.skip
