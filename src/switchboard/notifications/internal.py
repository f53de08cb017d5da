"""`POST /api/internal/notifications`: other services notify many users in one call.

Guarded by `SWITCHBOARD_API_KEY` (a bearer key compared in constant time).
Without a configured key the route does not exist (404), so a deployment that
never set one exposes nothing.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from switchboard.api.deps import Ctx
from switchboard.notifications.schemas import NotifyIn, NotifyOut

router = APIRouter(prefix="/api/internal", tags=["internal"])


async def require_api_key(request: Request, ctx: Ctx) -> None:
    """404 when the internal API is disabled, 401 for a missing or wrong key.

    `async` although it never awaits: FastAPI runs a plain `def` dependency in
    its thread pool, a thread hand-off on every request.
    """
    key = ctx.settings.api_key
    if not key:
        raise HTTPException(status_code=404, detail="Not Found")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise HTTPException(
            status_code=401, detail="invalid api key", headers={"WWW-Authenticate": "Bearer"}
        )


ApiKey = Annotated[None, Depends(require_api_key)]


@router.post("/notifications", status_code=202, response_model=NotifyOut)
async def notify(body: NotifyIn, ctx: Ctx, _key: ApiKey) -> Response:
    """Store one notification per user, then push it now or at `deliver_at`.

    Unknown users get a per-user `error`; when none of the users exists the
    call is refused with 404 and nothing is stored.
    """
    results = await ctx.notifications.notify(body)
    ids = [r.id for r in results if r.id is not None]
    if not ids:
        raise HTTPException(status_code=404, detail="none of user_ids is a known user")
    # Serialised once by the model itself: the route's answer is up to 1000 results,
    # which FastAPI's response handling would dump, validate and dump again.
    out = NotifyOut(ids=ids, results=results)
    return Response(out.model_dump_json(), status_code=202, media_type="application/json")
