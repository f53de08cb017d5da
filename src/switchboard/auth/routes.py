"""HTTP auth: register, login, logout (+ logout-all), me, refresh, user search (SPEC "HTTP API").

`session_router` holds the routes of Switchboard's own sessions (register,
login, logout, logout-all, refresh). In host mode (docs/host-auth.md) the host
app signs its users in, so the app is built without them (404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from switchboard.api.deps import Claims, Ctx, CurrentUserId, authenticate_request
from switchboard.api.params import user_id_list
from switchboard.auth.revocation import RevocationService
from switchboard.auth.schemas import AuthOut, LoginIn, MeOut, RegisterIn, UsersOut
from switchboard.auth.tokens import TokenClaims
from switchboard.auth.users import user_out
from switchboard.context import AppContext
from switchboard.errors import (
    AuthError,
    BadCredentialsError,
    InternalError,
    InvalidTokenError,
)
from switchboard.limits import Limits
from switchboard.storage.models import User

# Users one search returns (GET /api/users?q=).
SEARCH_LIMIT = 20
router = APIRouter(prefix="/api", tags=["auth"])
session_router = APIRouter(prefix="/api", tags=["auth"])


def _set_cookie(response: Response, ctx: AppContext, token: str) -> None:
    response.set_cookie(
        ctx.settings.auth_cookie,
        token,
        max_age=ctx.settings.token_ttl_seconds,
        path="/",
        httponly=True,
        # The SPEC spells it "Lax"; Starlette passes the value through as given.
        samesite="Lax",  # type: ignore[arg-type]
        secure=ctx.settings.cookie_secure,
    )


def _signed_in(
    response: Response, ctx: AppContext, user: User, session_start: float | None = None
) -> AuthOut:
    # TokenExpiredError (401) when the session reached SWITCHBOARD_SESSION_MAX_SECONDS.
    token = ctx.tokens.issue(user.id, user.email, session_start=session_start)
    _set_cookie(response, ctx, token)
    return AuthOut(user=user_out(user), token=token)


def _revocations(ctx: AppContext) -> RevocationService:
    revocations = ctx.tokens.revocations
    if revocations is None:  # create_app always configures one
        raise InternalError("token revocation is not configured")
    return revocations


async def get_limits(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


AbuseLimits = Annotated[Limits, Depends(get_limits)]


def _address(request: Request) -> str:
    # uvicorn has already replaced it with X-Forwarded-For's from a trusted proxy.
    return request.client.host if request.client else "unknown"


@session_router.post("/auth/register", status_code=201)
async def register(
    body: RegisterIn, request: Request, response: Response, ctx: Ctx, limits: AbuseLimits
) -> AuthOut:
    await limits.auth_attempt("register", _address(request))
    await limits.registration(body.email)
    user = await ctx.users.register(body.email, body.password, body.name)
    await _revocations(ctx).user_created(user.id)
    return _signed_in(response, ctx, user)


@session_router.post("/auth/login")
async def login(
    body: LoginIn, request: Request, response: Response, ctx: Ctx, limits: AbuseLimits
) -> AuthOut:
    await limits.auth_attempt("login", _address(request))
    await limits.login_attempt(body.email)
    user = await ctx.users.authenticate(body.email, body.password)
    if user is None:
        raise BadCredentialsError()
    await limits.account_success(body.email)
    return _signed_in(response, ctx, user)


def _cleared(ctx: AppContext) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(
        ctx.settings.auth_cookie,
        path="/",
        httponly=True,
        samesite="Lax",  # type: ignore[arg-type]
        secure=ctx.settings.cookie_secure,
    )
    return response


async def _revoke(ctx: AppContext, claims: TokenClaims, *, rotated: bool = False) -> bool:
    """Revoke the token `claims` came from; False when it already was."""
    revocations = _revocations(ctx)
    if claims.jti is None:
        # A token from before jti existed cannot be named alone: end its session
        # (and any older one of the user) instead.
        await revocations.revoke_all(claims.user_id, claims.session_start)
        return True
    return await revocations.revoke_token(
        claims.user_id, claims.jti, claims.expires_at, rotated=rotated
    )


@session_router.post("/auth/logout", status_code=204)
async def logout(request: Request, ctx: Ctx) -> Response:
    """Clear the cookie and revoke the token the call came with (if it is still valid)."""
    try:
        claims = await authenticate_request(request, ctx)
    except AuthError:
        return _cleared(ctx)  # nothing left to revoke; logging out is still fine
    await _revoke(ctx, claims)
    return _cleared(ctx)


@session_router.post("/auth/logout-all", status_code=204)
async def logout_all(ctx: Ctx, claims: Claims) -> Response:
    """Extension of the SPEC: revoke every token of the caller, on every node."""
    await _revocations(ctx).revoke_all(claims.user_id)
    return _cleared(ctx)


async def _current_user(ctx: AppContext, user_id: int) -> User:
    user = await ctx.users.get(user_id)
    if user is None:  # a valid token for a deleted user
        raise InvalidTokenError()
    return user


@router.get("/auth/me")
async def me(ctx: Ctx, user_id: CurrentUserId) -> MeOut:
    return MeOut(user=user_out(await _current_user(ctx, user_id)))


@session_router.post("/auth/refresh")
async def refresh(response: Response, ctx: Ctx, claims: Claims) -> AuthOut:
    """A new token for the same session; the presented one is revoked (rotation).

    Presenting a token twice (a replayed, stolen copy) fails the second time.
    The session keeps its start, so refreshes end at SWITCHBOARD_SESSION_MAX_SECONDS.
    """
    user = await _current_user(ctx, claims.user_id)
    if not await _revoke(ctx, claims, rotated=True):
        raise InvalidTokenError()
    # A pre-jti token was revoked with its whole session: start a new one.
    session_start = claims.session_start if claims.jti is not None else None
    return _signed_in(response, ctx, user, session_start)


@router.get("/users")
async def search_users(
    ctx: Ctx,
    _user_id: CurrentUserId,
    q: str = Query("", max_length=100),
    ids: str | None = Query(None, max_length=12000, description="comma list of user ids"),
) -> UsersOut:
    """Search by name/email (`q`), or look users up by id (`ids`, an extension of the SPEC)."""
    if ids is not None:
        return UsersOut(users=[user_out(u) for u in await ctx.users.get_many(user_id_list(ids))])
    if ctx.users.directory is not None:  # the host's directory answers searches
        found = await ctx.users.search_directory(q.strip(), SEARCH_LIMIT)
        return UsersOut(users=[user_out(u) for u in found])
    return UsersOut(users=[user_out(u) for u in await ctx.users.search(q.strip(), SEARCH_LIMIT)])
