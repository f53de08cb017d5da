"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any, Final, Literal, NewType

UserId = int

# The most user ids one presence query (socket or HTTP) may ask about.
MAX_PRESENCE_QUERY: Final = 500
Sid = NewType("Sid", str)
EioSid = NewType("EioSid", str)
Room = str
JSON = Any

NamespaceName = Literal["/chat", "/notifications"]
CHAT: Final = "/chat"
NOTIFICATIONS: Final = "/notifications"
NAMESPACES: Final[tuple[str, ...]] = (CHAT, NOTIFICATIONS)


def user_room(user_id: UserId) -> Room:
    return f"user:{user_id}"


def conversation_room(conversation_id: int) -> Room:
    return f"conversation:{conversation_id}"
