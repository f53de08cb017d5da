"""What a load balancer and a scraper read: `/healthz` and `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from switchboard.api.deps import Ctx
from switchboard.metrics import CONTENT_TYPE_LATEST

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
