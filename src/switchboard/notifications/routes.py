"""HTTP routes of the notification centre: list, mark one read, mark all read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from switchboard.api.deps import Ctx, CurrentUserId
from switchboard.errors import InvalidPayloadError
from switchboard.notifications.schemas import (
    DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
    NotificationListOut,
    NotificationOut,
    NotificationReadOut,
    UnreadCountOut,
)
from switchboard.storage.models import parse_id

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("")
async def list_notifications(
    ctx: Ctx,
    user_id: CurrentUserId,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = DEFAULT_LIST_LIMIT,
    before: Annotated[str | None, Query(max_length=40)] = None,
) -> NotificationListOut:
    """The caller's notifications, newest first; `before=<id>` pages further back."""
    before_id = None
    if before is not None:
        before_id = parse_id(before)
        if before_id is None:
            raise InvalidPayloadError("before: not a notification id")
    rows = await ctx.notifications.recent(
        user_id, unread_only=unread_only, limit=limit, before=before_id
    )
    return NotificationListOut(
        notifications=[NotificationOut.of(r) for r in rows],
        unread_count=await ctx.notifications.unread_count(user_id),
    )


@router.post("/read-all")
async def read_all(ctx: Ctx, user_id: CurrentUserId) -> UnreadCountOut:
    count = await ctx.notifications.mark_all_read(user_id)
    await ctx.notifications.push_unread_count(user_id, count)
    return UnreadCountOut(unread_count=count)


@router.post("/{notification_id}/read")
async def read_one(notification_id: str, ctx: Ctx, user_id: CurrentUserId) -> NotificationReadOut:
    """Mark one of the caller's notifications read; 404 for anyone else's."""
    row, count = await ctx.notifications.mark_read(user_id, notification_id)
    await ctx.notifications.push_unread_count(user_id, count)
    return NotificationReadOut(notification=NotificationOut.of(row), unread_count=count)
