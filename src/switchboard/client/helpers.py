"""The socket half of `SwitchboardClient`: one typed helper per client event.

Each helper emits on its namespace and waits for the `{ok: ...}` ack
(docs/events.md); `call` reaches events the helpers do not cover.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from switchboard.client.connection import SocketConnection
from switchboard.client.errors import SwitchboardAckError
from switchboard.client.events import CHAT, NOTIFICATIONS
from switchboard.client.models import Message


class SocketHelpers:
    """Event helpers; `SwitchboardClient` provides the connection."""

    connection: SocketConnection

    async def call(self, namespace: str, event: str, payload: Any) -> dict[str, Any]:
        """Emit `event` on `namespace` and return its `{ok: true, ...}` ack.

        Raises `SwitchboardAckError` on `{ok: false}`, `AckTimeoutError` when no
        ack comes in time and `NotConnectedError` without a live socket.
        """
        ack = await self.connection.call(namespace, event, payload)
        if not isinstance(ack, dict):
            raise SwitchboardAckError("internal", f"unexpected ack for {event!r}: {ack!r}")
        if ack.get("ok") is not True:
            error = ack.get("error")
            if not isinstance(error, dict):
                error = {}
            raise SwitchboardAckError(
                str(error.get("code", "internal")), str(error.get("message", ""))
            )
        return ack

    async def send_message(
        self, conversation_id: int, body: str, *, client_msg_id: str | None = None
    ) -> Message:
        """`message:send`: store a message and return it as the server acked it.

        A `client_msg_id` is generated when none is given; sending again with
        the same one never stores a second message (safe retries).
        """
        ack = await self.call(
            CHAT,
            "message:send",
            {
                "conversation_id": conversation_id,
                "body": body,
                "client_msg_id": client_msg_id or uuid.uuid4().hex,
            },
        )
        return Message.model_validate(ack["message"])

    async def mark_read(self, conversation_id: int, message_id: str) -> None:
        """`message:read`: tell the conversation you have read up to `message_id`."""
        await self.call(
            CHAT, "message:read", {"conversation_id": conversation_id, "message_id": message_id}
        )

    async def typing(self, conversation_id: int, typing: bool = True) -> None:
        """`typing`: the conversation's other sockets see that you are (not) typing."""
        await self.call(CHAT, "typing", {"conversation_id": conversation_id, "typing": typing})

    async def join_conversation(self, conversation_id: int) -> None:
        """`conversation:join`: join a conversation's room (members only)."""
        await self.call(CHAT, "conversation:join", {"conversation_id": conversation_id})

    async def query_presence(self, user_ids: Iterable[int]) -> dict[int, bool]:
        """`presence:query`: which of these users are online."""
        ack = await self.call(CHAT, "presence:query", {"user_ids": list(user_ids)})
        online = ack.get("online") or {}
        return {int(uid): bool(flag) for uid, flag in online.items()}

    async def mark_notification_read(self, notification_id: str) -> int:
        """`notification:read`: mark one notification read; returns the new unread count."""
        ack = await self.call(NOTIFICATIONS, "notification:read", {"id": notification_id})
        return int(ack["unread_count"])
