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


def conversation_room(conversation_id: int) -> Room:
    return f"conversation:{conversation_id}"
