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
from switchboard.errors import ConflictError
from switchboard.notifications.schemas import NotifyIn

# The host's own users (a real app has a table). Switchboard keeps a row for
# each user it serves; `switchboard_user_id` creates it at the first login.
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


def mint_token(user_id: int, email: str) -> str:
    """The host's JWT, in the claims Switchboard reads (docs/embedding.md)."""
    now = int(time.time())
    claims = {"sub": str(user_id), "email": email, "iat": now, "exp": now + TOKEN_SECONDS}
    return jwt.encode(claims, os.environ["SWITCHBOARD_JWT_SECRET"], algorithm="HS256")


def current_user(request: Request) -> int:
    token = request.cookies.get("auth_token", "")
    try:
        claims = jwt.decode(token, os.environ["SWITCHBOARD_JWT_SECRET"], algorithms=["HS256"])
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        raise HTTPException(status_code=401, detail="log in first") from None


async def parsed(request: Request, model: type[M]) -> M:
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise HTTPException(status_code=413)
    try:
        return model.model_validate_json(body)
    except ValidationError:
        raise HTTPException(status_code=422, detail="see the API of this example") from None


async def switchboard_user_id(username: str) -> int:
    email = f"{username}@shop.example"
    users = app.ctx.users
    for found in await users.search(email, limit=5):
        if found.email == email:
            return found.id
    try:
        # The host owns the password; Switchboard's copy is never used.
        return (await users.register(email, secrets.token_urlsafe(24), USERS[username])).id
    except ConflictError:  # a concurrent first login created it
        return await switchboard_user_id(username)


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
    user_id = await switchboard_user_id(username)
    token = mint_token(user_id, f"{username}@shop.example")
    response = JSONResponse({"user_id": user_id, "token": token})
    response.set_cookie("auth_token", token, httponly=True, samesite="lax")
    return response


async def place_order(request: Request) -> JSONResponse:
    user_id = current_user(request)
    item = (await parsed(request, Order)).item
    if item == "unobtainium":
        raise OutOfStockError(item)
    order = {"id": secrets.token_hex(4), "item": item}
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
