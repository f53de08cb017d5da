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


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authenticate_request(request: Request, ctx: AppContext) -> TokenClaims:
    """The claims of the request's token: `Authorization: Bearer`, else the cookie.

    When both are sent and the bearer token is refused, the cookie is tried
    too. A browser's tabs share the cookie but each keeps the token it last
    saw: once another tab refreshed (which revokes the old token), this tab's
    bearer token is dead while the cookie holds the session's current one.
    The request is then authenticated by that cookie, as if it had come alone.
    """
    bearer = _bearer(request)
    cookie = cookie_token(request.headers.get("cookie"))
    try:
        return await ctx.tokens.authenticate(bearer or cookie)
    except AuthError:
        if bearer is None or cookie is None or cookie == bearer:
            raise
        try:
            return await ctx.tokens.authenticate(cookie)
        except AuthError:
            pass
        raise


async def get_claims(request: Request, ctx: Ctx) -> TokenClaims:
    try:
        return await authenticate_request(request, ctx)
    except AuthError as exc:
        raise HTTPException(
            status_code=401, detail=exc.code, headers={"WWW-Authenticate": "Bearer"}
        ) from None


Claims = Annotated[TokenClaims, Depends(get_claims)]


def get_user_id(claims: Claims) -> int:
    return claims.user_id


CurrentUserId = Annotated[int, Depends(get_user_id)]
