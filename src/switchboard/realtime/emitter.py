"""The one place where a broadcast leaves the process.

Every server-to-client event — from a socket handler, an HTTP route, the
scheduler or the internal API — goes through `Emitter`. Recovery (offsets and
the replay log), clustering (cross-node delivery) and the fast fan-out path
all hook in here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from switchboard.types import Room, Sid


class EmitHook(Protocol):
    """Something that sees every broadcast before it leaves (e.g. metrics)."""

    def on_broadcast(
        self, namespace: str, room: Room | Sequence[Room] | None, event: str
    ) -> None: ...


class Emitter:
    def __init__(self, sio: Any) -> None:
        self._sio = sio
        self.hooks: list[EmitHook] = []

    async def broadcast(
        self,
        event: str,
        data: Any,
        *,
        namespace: str,
        room: Room | Sequence[Room] | None = None,
        skip_sid: Sid | None = None,
    ) -> None:
        """Send to every socket in `room` (or the whole namespace when None).

        With a list of rooms, a socket in several of them gets the event once.
        """
        for hook in self.hooks:
            hook.on_broadcast(namespace, room, event)
        to = room if room is None or isinstance(room, str) else list(room)
        await self._sio.emit(event, data, namespace=namespace, to=to, skip_sid=skip_sid)

    async def to_socket(self, sid: Sid, event: str, data: Any, *, namespace: str) -> None:
        """Send to one socket: a reply-like event, never replayed by recovery."""
        await self._sio.emit(event, data, namespace=namespace, to=sid)
