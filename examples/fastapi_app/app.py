"""A FastAPI app with its own users, middleware, errors and lifespan, with Switchboard mounted.

Run it (from this folder): see README.md. The host signs its users in and
issues its own JWT (HS256 with SWITCHBOARD_JWT_SECRET), which Switchboard's
sockets and API accept; its routes emit through the in-process handle.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import jwt
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import switchboard
from switchboard.notifications.schemas import NotifyIn

# The host's own users (a real app has a table), named by the host's ids.
USERS = {"alice": "Alice", "bob": "Bob"}
TOKEN_SECONDS = 3600


class OutOfStockError(Exception):
    """One of the host's own errors, answered by its own handler."""


class Login(BaseModel):
    username: str = Field(max_length=50)


class Order(BaseModel):
    item: str = Field(min_length=1, max_length=100)


@asynccontextmanager
async def lifespan(_host: FastAPI) -> AsyncIterator[dict[str, Any]]:
    # Switchboard has started before this runs: host startup code may emit.
    yield {"started_at": time.time(), "switchboard_ready": app.realtime.started}


host = FastAPI(title="Shop", lifespan=lifespan)


@host.middleware("http")
async def tag_responses(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers["x-served-by"] = "shop"
    return response


@host.exception_handler(OutOfStockError)
async def out_of_stock(_request: Request, exc: OutOfStockError) -> JSONResponse:
    return JSONResponse({"error": "out_of_stock", "item": str(exc)}, status_code=409)


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


@host.get("/")
async def home(request: Request) -> dict[str, Any]:
    return {
        "app": "shop",
        "started_at": request.state.started_at,
        "switchboard_ready": request.state.switchboard_ready,
    }


@host.post("/login")
async def login(body: Login, response: Response) -> dict[str, Any]:
    if body.username not in USERS:
        raise HTTPException(status_code=401, detail="unknown user")
    token = mint_token(body.username)
    response.set_cookie("auth_token", token, httponly=True, samesite="lax")
    return {"user": body.username, "token": token}


@host.post("/orders", status_code=201)
async def place_order(body: Order, request: Request) -> dict[str, Any]:
    username = current_user(request)
    if body.item == "unobtainium":
        raise OutOfStockError(body.item)
    order = {"id": secrets.token_hex(4), "item": body.item}
    # Payloads and rooms name users by Switchboard's integer id: map the host's.
    user_id = await app.ctx.users.resolve_external(username, USERS[username])
    # Live only (to every tab of the user), then stored with an unread count.
    await app.realtime.to_user(user_id, "order:created", order)
    await app.notifications.notify(
        NotifyIn(user_ids=[user_id], type="order", title=f"Order {order['id']} placed")
    )
    return order


app = switchboard.mount(host, prefix="/switchboard")
