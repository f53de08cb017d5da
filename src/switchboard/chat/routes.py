"""HTTP routes of chat: conversations and message history (SPEC "HTTP API").

They call the same `ChatService` as the `/chat` socket handlers, so a message
posted here is stored and broadcast exactly like one sent with `message:send`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from switchboard.api.deps import Ctx, CurrentUserId
from switchboard.chat.schemas import (
    DEFAULT_PAGE,
    DEFAULT_SEARCH_PAGE,
    MAX_DB_ID,
    MAX_MEMBERS,
    MAX_PAGE,
    MAX_PUBLIC_ID_CHARS,
    MAX_SEARCH_CHARS,
    MAX_TITLE_CHARS,
    ChatConfigOut,
    ChatConfigResponse,
    ConversationResponse,
    ConversationsResponse,
    CreateConversationIn,
    MessageResponse,
    MessagesResponse,
    ReadMarksResponse,
    RenameConversationIn,
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


# -- extensions to the SPEC (docs/chat.md) ---------------------------------------------


@router.get("/config")
async def client_config(ctx: Ctx) -> ChatConfigResponse:
    """Public: the limits a client checks before sending (no secret in here)."""
    return ChatConfigResponse(
        chat=ChatConfigOut(
            max_message_chars=ctx.settings.max_message_chars,
            max_title_chars=MAX_TITLE_CHARS,
            max_members=MAX_MEMBERS,
        )
    )


@router.patch("/conversations/{conversation_id}")
async def rename_conversation(
    conversation_id: ConversationId, body: RenameConversationIn, ctx: Ctx, user_id: CurrentUserId
) -> ConversationResponse:
    conversation = await ctx.chat.rename_conversation(user_id, conversation_id, body.title)
    return ConversationResponse(conversation=conversation)


@router.post("/conversations/{conversation_id}/leave", status_code=204)
async def leave_conversation(
    conversation_id: ConversationId, ctx: Ctx, user_id: CurrentUserId
) -> Response:
    await ctx.chat.leave_conversation(user_id, conversation_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/reads")
async def read_marks(
    conversation_id: ConversationId, ctx: Ctx, user_id: CurrentUserId
) -> ReadMarksResponse:
    return ReadMarksResponse(reads=await ctx.chat.read_marks(user_id, conversation_id))


@router.get("/conversations/{conversation_id}/search")
async def search_messages(
    conversation_id: ConversationId,
    ctx: Ctx,
    user_id: CurrentUserId,
    q: Annotated[str, Query(min_length=1, max_length=MAX_SEARCH_CHARS)],
    before: Annotated[str | None, Query(max_length=MAX_PUBLIC_ID_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_SEARCH_PAGE,
) -> MessagesResponse:
    messages = await ctx.chat.search(user_id, conversation_id, q, before, limit)
    return MessagesResponse(messages=messages)
