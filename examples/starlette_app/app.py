"""A Starlette app with its own users, middleware, errors and lifespan, with Switchboard mounted.

Run it (from this folder): see README.md. The host signs its users in and
issues its own JWT (HS256 with SWITCHBOARD_JWT_SECRET); its routes emit
through the in-process handle (`app.realtime`, `app.notifications`).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import jwt
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import switchboard
from switchboard.notifications.schemas import NotifyIn

# The host's own users (a real app has a table), named by the host's ids.
USERS = {"alice": "Alice", "bob": "Bob"}
TOKEN_SECONDS = 3600
MAX_JSON_BYTES = 4096


class Login(BaseModel):
    username: str = Field(max_length=50)


class Order(BaseModel):
    item: str = Field(min_length=1, max_length=100)


M = TypeVar("M", bound=BaseModel)


class OutOfStockError(Exception):
    """One of the host's own errors, answered by its own handler."""


class TagResponses:
    """The host's own middleware (pure ASGI): every response it serves says so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-served-by", b"shop")]
            await send(message)

        await self.app(scope, receive, tagged if scope["type"] == "http" else send)


def mint_token(username: str) -> str:
    """The host's own JWT; Switchboard trusts it in host mode (SWITCHBOARD_JWT_ALGORITHMS)."""
    now = int(time.time())
    claims = {"sub": username, "name": USERS[username], "iat": now, "exp": now + TOKEN_SECONDS}
    return jwt.encode(claims, os.environ["SWITCHBOARD_JWT_SECRET"], algorithm="HS256")


def current_user(request: Request) -> str:
    token = request.cookies.get("auth_token", "")
    try:
        claims = jwt.decode(token, os.environ["SWITCHBOARD_JWT_SECRET"], algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(status_code=401, detail="log in first") from None
    if claims.get("sub") not in USERS:
        raise HTTPException(status_code=401, detail="log in first")
    return str(claims["sub"])


async def parsed(request: Request, model: type[M]) -> M:
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise HTTPException(status_code=413)
    try:
        return model.model_validate_json(body)
    except ValidationError:
        raise HTTPException(status_code=422, detail="see the API of this example") from None


async def home(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "app": "shop",
            "started_at": request.state.started_at,
            "switchboard_ready": request.state.switchboard_ready,
        }
    )


async def login(request: Request) -> JSONResponse:
    username = (await parsed(request, Login)).username
    if username not in USERS:
        raise HTTPException(status_code=401, detail="unknown user")
    token = mint_token(username)
    response = JSONResponse({"user": username, "token": token})
    response.set_cookie("auth_token", token, httponly=True, samesite="lax")
    return response


async def place_order(request: Request) -> JSONResponse:
    username = current_user(request)
    item = (await parsed(request, Order)).item
    if item == "unobtainium":
        raise OutOfStockError(item)
    order = {"id": secrets.token_hex(4), "item": item}
    # Payloads and rooms name users by Switchboard's integer id: map the host's.
    user_id = await app.ctx.users.resolve_external(username, USERS[username])
    # Live only (to every tab of the user), then stored with an unread count.
    await app.realtime.to_user(user_id, "order:created", order)
    await app.notifications.notify(
        NotifyIn(user_ids=[user_id], type="order", title=f"Order {order['id']} placed")
    )
    return JSONResponse(order, status_code=201)


async def out_of_stock(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": "out_of_stock", "item": str(exc)}, status_code=409)


@asynccontextmanager
async def lifespan(_host: Starlette) -> AsyncIterator[dict[str, Any]]:
    # Switchboard has started before this runs: host startup code may emit.
    yield {"started_at": time.time(), "switchboard_ready": app.realtime.started}


host = Starlette(
    routes=[
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/orders", place_order, methods=["POST"]),
    ],
    middleware=[Middleware(TagResponses)],
    exception_handlers={OutOfStockError: out_of_stock},
    lifespan=lifespan,
)

app = switchboard.mount(host, prefix="/switchboard")
