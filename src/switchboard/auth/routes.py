"""HTTP auth: register, login, logout, me, refresh, user search (SPEC "HTTP API")."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Response

from switchboard.api.deps import Claims, Ctx, CurrentUserId
from switchboard.api.system import parse_user_ids
from switchboard.auth.schemas import AuthOut, LoginIn, MeOut, RegisterIn, UsersOut
from switchboard.auth.users import user_out
from switchboard.context import AppContext
from switchboard.realtime.auth import COOKIE_NAME
from switchboard.storage.models import User

router = APIRouter(prefix="/api", tags=["auth"])


def _set_cookie(response: Response, ctx: AppContext, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=ctx.settings.token_ttl_seconds,
        path="/",
        httponly=True,
        # The SPEC spells it "Lax"; Starlette passes the value through as given.
        samesite="Lax",  # type: ignore[arg-type]
        secure=ctx.settings.cookie_secure,
    )


def _signed_in(response: Response, ctx: AppContext, user: User) -> AuthOut:
    token = ctx.tokens.issue(user.id, user.email)
    _set_cookie(response, ctx, token)
    return AuthOut(user=user_out(user), token=token)


@router.post("/auth/register", status_code=201)
async def register(body: RegisterIn, response: Response, ctx: Ctx) -> AuthOut:
    user = await ctx.users.register(body.email, body.password, body.name)
    return _signed_in(response, ctx, user)


@router.post("/auth/login")
async def login(body: LoginIn, response: Response, ctx: Ctx) -> AuthOut:
    user = await ctx.users.authenticate(body.email, body.password)
    if user is None:
        raise HTTPException(status_code=401, detail="invalid email or password")
    return _signed_in(response, ctx, user)


@router.post("/auth/logout", status_code=204)
async def logout(ctx: Ctx) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="Lax",  # type: ignore[arg-type]
        secure=ctx.settings.cookie_secure,
    )
    return response


async def _current_user(ctx: AppContext, user_id: int) -> User:
    user = await ctx.users.get(user_id)
    if user is None:  # a valid token for a deleted user
        raise HTTPException(status_code=401, detail="invalid_token")
    return user


@router.get("/auth/me")
async def me(ctx: Ctx, user_id: CurrentUserId) -> MeOut:
    return MeOut(user=user_out(await _current_user(ctx, user_id)))


@router.post("/auth/refresh")
async def refresh(response: Response, ctx: Ctx, claims: Claims) -> AuthOut:
    return _signed_in(response, ctx, await _current_user(ctx, claims.user_id))


@router.get("/users")
async def search_users(
    ctx: Ctx,
    _user_id: CurrentUserId,
    q: str = Query("", max_length=100),
    ids: str | None = Query(None, max_length=12000, description="comma list of user ids"),
) -> UsersOut:
    """Search by name/email (`q`), or look users up by id (`ids`, an extension of the SPEC)."""
    if ids is not None:
        return UsersOut(users=[user_out(u) for u in await ctx.users.get_many(parse_user_ids(ids))])
    return UsersOut(users=[user_out(u) for u in await ctx.users.search(q.strip())])
