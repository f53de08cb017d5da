"""`POST /api/internal/notifications`: other services notify many users in one call.

Guarded by `SWITCHBOARD_API_KEY` (`api.deps.ApiKey`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from switchboard.api.deps import ApiKey, Ctx
from switchboard.api.direct import DirectRoute
from switchboard.errors import NotFoundError
from switchboard.notifications.schemas import NotifyIn, NotifyOut

# Served without per-request dependency solving: services call it in bursts (direct.py).
router = APIRouter(prefix="/api/internal", tags=["internal"], route_class=DirectRoute)


@router.post("/notifications", status_code=202, response_model=NotifyOut)
async def notify(body: NotifyIn, ctx: Ctx, _key: ApiKey) -> Response:
    """Store one notification per user, then push it now or at `deliver_at`.

    Unknown users get a per-user `error`; when none of the users exists the
    call is refused with 404 and nothing is stored.
    """
    results = await ctx.notifications.notify(body)
    ids = [r.id for r in results if r.id is not None]
    if not ids:
        raise NotFoundError("none of user_ids is a known user")
    # Serialised once by the model itself: the route's answer is up to 1000 results,
    # which FastAPI's response handling would dump, validate and dump again.
    out = NotifyOut(ids=ids, results=results)
    return Response(out.model_dump_json(), status_code=202, media_type="application/json")
