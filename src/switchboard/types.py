"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any, Final, NewType

UserId = int

# The most user ids one presence query (socket or HTTP) may ask about.
MAX_PRESENCE_QUERY: Final = 500
Sid = NewType("Sid", str)
Room = str
# One emit of a batch: (room, event, data).
Broadcast = tuple[Room, str, Any]

CHAT: Final = "/chat"
NOTIFICATIONS: Final = "/notifications"
NAMESPACES: Final[tuple[str, ...]] = (CHAT, NOTIFICATIONS)


def user_room(user_id: UserId) -> Room:
    return f"user:{user_id}"


_CONVERSATION_ROOM: Final = "conversation:"


def conversation_room(conversation_id: int) -> Room:
    return f"{_CONVERSATION_ROOM}{conversation_id}"


def conversation_of_room(room: Room) -> int | None:
    """The conversation whose room `room` is (`conversation_room`'s inverse), else None."""
    if not room.startswith(_CONVERSATION_ROOM):
        return None
    digits = room[len(_CONVERSATION_ROOM) :]
    return int(digits) if digits.isdigit() else None
