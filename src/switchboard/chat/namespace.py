"""The `/chat` namespace: messages, typing, read receipts, rooms and presence queries.

Handlers only translate between the socket and `ChatService`; validation
errors and the service's `AppError`s become the SPEC's error ack in the base
class (`realtime.namespace.SocketNamespace`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from switchboard.chat.schemas import JoinPayload, ReadPayload, SendMessagePayload, TypingPayload
from switchboard.chat.service import ChatService
from switchboard.realtime.namespace import AckResult, SocketContext, SocketNamespace, event
from switchboard.types import CHAT, MAX_PRESENCE_QUERY, UserId, conversation_room

if TYPE_CHECKING:
    from switchboard.realtime.server import RealtimeServer


class PresenceQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_ids: list[StrictInt] = Field(max_length=MAX_PRESENCE_QUERY)


class ChatNamespace(SocketNamespace):
    name = CHAT

    def __init__(self, rt: RealtimeServer, chat: ChatService) -> None:
        super().__init__(rt)
        self.chat = chat

    async def rooms_for(self, user_id: UserId) -> list[str]:
        """`user:{id}` plus `conversation:{cid}` for every membership (one query)."""
        rooms = await super().rooms_for(user_id)
        return rooms + [conversation_room(cid) for cid in await self.chat.conversation_ids(user_id)]

    @event("message:send", SendMessagePayload)
    async def message_send(self, sock: SocketContext, payload: SendMessagePayload) -> AckResult:
        message = await self.chat.send_message(
            sock.user_id, payload.conversation_id, payload.body, payload.client_msg_id
        )
        return {"message": message.wire}

    @event("typing", TypingPayload)
    async def typing(self, sock: SocketContext, payload: TypingPayload) -> AckResult:
        await self.chat.typing(
            sock.user_id, payload.conversation_id, payload.typing, skip_sid=sock.sid
        )
        return {}

    @event("message:read", ReadPayload)
    async def message_read(self, sock: SocketContext, payload: ReadPayload) -> AckResult:
        await self.chat.mark_read(sock.user_id, payload.conversation_id, payload.message_id)
        return {}

    @event("conversation:join", JoinPayload)
    async def conversation_join(self, sock: SocketContext, payload: JoinPayload) -> AckResult:
        await self.chat.require_member(sock.user_id, payload.conversation_id)
        await self.enter_room(sock.sid, conversation_room(payload.conversation_id))
        return {}

    @event("presence:query", PresenceQuery)
    async def presence_query(self, sock: SocketContext, payload: PresenceQuery) -> AckResult:
        status = await self.rt.presence.online_status_bulk(payload.user_ids)
        return {"online": {str(uid): online for uid, online in status.items()}}
