"""FastAPI dependencies: the app context, the authenticated caller, the internal API key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from switchboard.auth.credentials import Credentials, extract
from switchboard.auth.tokens import TokenClaims
from switchboard.context import AppContext
from switchboard.errors import InvalidApiKeyError, NotFoundError


async def get_ctx(request: Request) -> AppContext:
    # `async` although it never awaits: FastAPI runs a plain `def` dependency in
    # its thread pool, a thread hand-off on every request.
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def request_credentials(request: Request, ctx: AppContext) -> Credentials:
    """The request's credentials: the configured header (`Authorization: Bearer`), the cookie."""
    settings = ctx.settings
    return extract(
        {k: v for k, v in request.headers.items()},
        cookie_name=settings.auth_cookie,
        header_name=settings.auth_header,
    )


async def authenticate_request(request: Request, ctx: AppContext) -> TokenClaims:
    """The claims of the request's credentials (order and fallback: `auth/credentials.py`).

    When both a header token and the cookie are sent and the header's is
    refused, the cookie is tried too: a browser's tabs share the cookie while
    each keeps the token it last saw, so after another tab refreshed (revoking
    the old token) the cookie still holds the session's current one.
    """
    return await ctx.tokens.authenticate_credentials(
        request_credentials(request, ctx), confirm_user=True
    )


async def get_claims(request: Request, ctx: Ctx) -> TokenClaims:
    # An AuthError becomes the 401 in api/errors.py, like every refusal.
    return await authenticate_request(request, ctx)


Claims = Annotated[TokenClaims, Depends(get_claims)]


async def get_user_id(claims: Claims) -> int:
    return claims.user_id


CurrentUserId = Annotated[int, Depends(get_user_id)]


INTERNAL_API_DISABLED = (
    "the internal API is disabled: SWITCHBOARD_API_KEY is not set on this server"
)


async def require_api_key(request: Request, ctx: Ctx) -> None:
    """The internal API's guard: `Authorization: Bearer <SWITCHBOARD_API_KEY>`.

    Without a configured key every call is refused with 404 whose body says the
    internal API is disabled, so a deployment that never set one exposes
    nothing and its operator learns why. The key is compared in constant time.
    """
    key = ctx.settings.api_key
    if not key:
        raise NotFoundError(INTERNAL_API_DISABLED)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise InvalidApiKeyError()


ApiKey = Annotated[None, Depends(require_api_key)]
