"""Typed objects of the contract (docs/contract.md), as the Python client receives them.

Unknown fields are ignored so that a newer server does not break an older
client; missing required fields raise `pydantic.ValidationError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class User(_Model):
    """`{id, email, name, external_id}`; `external_id` is the host app's id (host mode)."""

    id: int
    email: str
    name: str
    external_id: str | None = None


class Message(_Model):
    """A chat message; ids sort in send order within a conversation."""

    id: str
    conversation_id: int
    sender_id: int
    body: str
    created_at: datetime
    client_msg_id: str | None = None


class ConversationInfo(_Model):
    """`{id, title, member_ids, created_at}`: what `conversation:updated` carries."""

    id: int
    title: str | None = None
    member_ids: list[int]
    created_at: datetime


class Conversation(ConversationInfo):
    """A conversation; `list_conversations()` also fills `last_message` and
    `unread_count` (the caller's), when the server sends them."""

    last_message: Message | None = None
    unread_count: int | None = None


class Notification(_Model):
    """A stored notification (`read_at` is None while unread)."""

    id: str
    type: str
    title: str
    body: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    read_at: datetime | None = None


class NotificationPage(_Model):
    """`GET /api/notifications`: newest first, plus the caller's unread count."""

    notifications: list[Notification]
    unread_count: int


class TypingEvent(_Model):
    """`typing` from the server: someone else in a conversation started or stopped typing."""

    conversation_id: int
    user_id: int
    typing: bool


class ReadReceipt(_Model):
    """`message:read` from the server: `user_id` has read up to `message_id`."""

    conversation_id: int
    user_id: int
    message_id: str


class PresenceEvent(_Model):
    """`presence`: a user's first socket connected (online) or last one left."""

    user_id: int
    online: bool


class UnreadCount(_Model):
    """`notification:unread_count`."""

    count: int


class AuthExpired(_Model):
    """`auth:expired`: the socket's token expired; the server disconnects it next."""

    code: str = "token_expired"
