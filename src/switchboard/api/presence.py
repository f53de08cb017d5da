"""`GET /api/presence`: which of some users are online, on any node."""

from __future__ import annotations

from fastapi import APIRouter, Query

from switchboard.api.deps import Ctx, CurrentUserId
from switchboard.api.params import user_id_list

router = APIRouter(tags=["presence"])


@router.get("/api/presence")
async def presence(
    ctx: Ctx, _user_id: CurrentUserId, user_ids: str = Query("", max_length=12000)
) -> dict[str, dict[str, bool]]:
    status = await ctx.realtime.presence.online_status_bulk(user_id_list(user_ids))
    return {"online": {str(uid): online for uid, online in status.items()}}
