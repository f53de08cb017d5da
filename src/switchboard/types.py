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


_USER_ROOM: Final = "user:"


def user_room(user_id: UserId) -> Room:
    return f"{_USER_ROOM}{user_id}"


def user_of_room(room: Room) -> UserId | None:
    """The user whose room `room` is (`user_room`'s inverse), else None."""
    return _id_after(_USER_ROOM, room)


_CONVERSATION_ROOM: Final = "conversation:"


def conversation_room(conversation_id: int) -> Room:
    return f"{_CONVERSATION_ROOM}{conversation_id}"


def conversation_of_room(room: Room) -> int | None:
    """The conversation whose room `room` is (`conversation_room`'s inverse), else None."""
    return _id_after(_CONVERSATION_ROOM, room)


def _id_after(prefix: str, room: Room) -> int | None:
    if not room.startswith(prefix):
        return None
    digits = room[len(prefix) :]
    return int(digits) if digits.isascii() and digits.isdigit() else None
