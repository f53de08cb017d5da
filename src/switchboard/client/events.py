"""The contract's Socket.IO events (docs/contract.md) as the Python client sees them.

`SERVER_EVENTS` tells `SwitchboardClient.on` which namespace an incoming
event arrives on and which model its payload is parsed into;
`CLIENT_EVENTS` lists what the client emits and where. docs/events.md is
checked against both by tests/client/test_event_reference.py.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from switchboard.client.models import (
    AuthExpired,
    ConversationInfo,
    Message,
    Notification,
    PresenceEvent,
    ReadReceipt,
    TypingEvent,
    UnreadCount,
)

CHAT: Final = "/chat"
NOTIFICATIONS: Final = "/notifications"
NAMESPACES: Final[tuple[str, str]] = (CHAT, NOTIFICATIONS)

SERVER_EVENTS: Final[dict[str, tuple[tuple[str, ...], type[BaseModel]]]] = {
    "message:new": ((CHAT,), Message),
    "typing": ((CHAT,), TypingEvent),
    "message:read": ((CHAT,), ReadReceipt),
    "presence": ((CHAT,), PresenceEvent),
    "conversation:updated": ((CHAT,), ConversationInfo),
    "notification": ((NOTIFICATIONS,), Notification),
    "notification:unread_count": ((NOTIFICATIONS,), UnreadCount),
    "auth:expired": (NAMESPACES, AuthExpired),
}

CLIENT_EVENTS: Final[dict[str, tuple[str, ...]]] = {
    "message:send": (CHAT,),
    "typing": (CHAT,),
    "message:read": (CHAT,),
    "conversation:join": (CHAT,),
    "presence:query": (CHAT,),
    "notification:read": (NOTIFICATIONS,),
    "auth:refresh": NAMESPACES,
}
