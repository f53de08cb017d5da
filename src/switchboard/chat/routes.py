"""HTTP routes of chat: conversations and message history (SPEC "HTTP API").

They call the same `ChatService` as the `/chat` socket handlers, so a message
posted here is stored and broadcast exactly like one sent with `message:send`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from switchboard.api.deps import Ctx, CurrentUserId
from switchboard.chat.schemas import (
    DEFAULT_PAGE,
    MAX_DB_ID,
    MAX_PAGE,
    MAX_PUBLIC_ID_CHARS,
    ConversationResponse,
    ConversationsResponse,
    CreateConversationIn,
    MessageResponse,
    MessagesResponse,
    SendMessageIn,
)

router = APIRouter(prefix="/api", tags=["chat"])

ConversationId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


@router.post("/conversations", status_code=201)
async def create_conversation(
    body: CreateConversationIn, ctx: Ctx, user_id: CurrentUserId
) -> ConversationResponse:
    conversation = await ctx.chat.create_conversation(user_id, body.member_ids, body.title)
    return ConversationResponse(conversation=conversation)


@router.get("/conversations")
async def list_conversations(ctx: Ctx, user_id: CurrentUserId) -> ConversationsResponse:
    return ConversationsResponse(conversations=await ctx.chat.list_conversations(user_id))


@router.get("/conversations/{conversation_id}/messages")
async def history(
    conversation_id: ConversationId,
    ctx: Ctx,
    user_id: CurrentUserId,
    before: Annotated[str | None, Query(max_length=MAX_PUBLIC_ID_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> MessagesResponse:
    messages = await ctx.chat.history(user_id, conversation_id, before, limit)
    return MessagesResponse(messages=messages)


@router.post("/conversations/{conversation_id}/messages", status_code=201)
async def send_message(
    conversation_id: ConversationId, body: SendMessageIn, ctx: Ctx, user_id: CurrentUserId
) -> MessageResponse:
    message = await ctx.chat.send_message(user_id, conversation_id, body.body, body.client_msg_id)
    return MessageResponse(message=message)
