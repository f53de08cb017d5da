"""The Python client of Switchboard: `SwitchboardClient` and the contract's typed objects.

    from switchboard.client import SwitchboardClient

    async with SwitchboardClient("http://127.0.0.1:8000", email=..., password=...) as sb:
        message = await sb.send_message(conversation_id, "hello")

See docs/python-client.md.
"""

from switchboard.client.errors import (
    AckTimeoutError,
    NotConnectedError,
    SwitchboardAckError,
    SwitchboardClientError,
    SwitchboardHTTPError,
)
from switchboard.client.models import (
    AuthExpired,
    Conversation,
    Message,
    Notification,
    NotificationPage,
    PresenceEvent,
    ReadReceipt,
    TypingEvent,
    UnreadCount,
    User,
)
from switchboard.client.sdk import SwitchboardClient

__all__ = [
    "AckTimeoutError",
    "AuthExpired",
    "Conversation",
    "Message",
    "NotConnectedError",
    "Notification",
    "NotificationPage",
    "PresenceEvent",
    "ReadReceipt",
    "SwitchboardAckError",
    "SwitchboardClient",
    "SwitchboardClientError",
    "SwitchboardHTTPError",
    "TypingEvent",
    "UnreadCount",
    "User",
]
