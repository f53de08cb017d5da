"""FastAPI dependencies: the app context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from switchboard.auth.tokens import TokenClaims
from switchboard.context import AppContext
from switchboard.errors import AuthError
from switchboard.realtime.auth import cookie_token


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def request_token(request: Request) -> str | None:
    """`Authorization: Bearer` when given (an explicit choice), else the cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return cookie_token(request.headers.get("cookie"))


async def get_claims(request: Request, ctx: Ctx) -> TokenClaims:
    try:
        return await ctx.tokens.authenticate(request_token(request))
    except AuthError as exc:
        raise HTTPException(
            status_code=401, detail=exc.code, headers={"WWW-Authenticate": "Bearer"}
        ) from None


Claims = Annotated[TokenClaims, Depends(get_claims)]


def get_user_id(claims: Claims) -> int:
    return claims.user_id


CurrentUserId = Annotated[int, Depends(get_user_id)]
