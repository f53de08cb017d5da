"""Operational routes: health, metrics, presence."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from switchboard.api.deps import Ctx, CurrentUserId
from switchboard.metrics import CONTENT_TYPE_LATEST
from switchboard.types import MAX_PRESENCE_QUERY

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(ctx: Ctx) -> JSONResponse:
    checks = {"database": await ctx.db.ping()}
    for name, check in ctx.health_checks.items():
        checks[name] = await check()
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics")
async def metrics(ctx: Ctx) -> Response:
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def parse_user_ids(raw: str) -> list[int]:
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or len(part) > 19:
            raise HTTPException(status_code=422, detail=f"not a user id: {part[:20]!r}")
        ids.append(int(part))
    if len(ids) > MAX_PRESENCE_QUERY:
        raise HTTPException(status_code=422, detail=f"at most {MAX_PRESENCE_QUERY} user ids")
    return ids


@router.get("/api/presence")
async def presence(
    ctx: Ctx, _user_id: CurrentUserId, user_ids: str = Query("", max_length=12000)
) -> dict[str, dict[str, bool]]:
    status = await ctx.realtime.presence.online_status_bulk(parse_user_ids(user_ids))
    return {"online": {str(uid): online for uid, online in status.items()}}
