"""The shop's views: its own sign-in (its JWT), and an order that is pushed to the user."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any, TypeVar

import jwt
from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, Field, ValidationError

from shop.realtime import switchboard_app
from switchboard.errors import ConflictError
from switchboard.notifications.schemas import NotifyIn

# The host's own users (a real app has django.contrib.auth). Switchboard keeps
# a row for each user it serves; `switchboard_user_id` creates it at the first login.
USERS = {"alice": "Alice", "bob": "Bob"}
TOKEN_SECONDS = 3600


class Login(BaseModel):
    username: str = Field(max_length=50)


class Order(BaseModel):
    item: str = Field(min_length=1, max_length=100)


M = TypeVar("M", bound=BaseModel)


def mint_token(user_id: int, email: str) -> str:
    """The host's JWT, in the claims Switchboard reads (docs/embedding.md)."""
    now = int(time.time())
    claims = {"sub": str(user_id), "email": email, "iat": now, "exp": now + TOKEN_SECONDS}
    return jwt.encode(claims, os.environ["SWITCHBOARD_JWT_SECRET"], algorithm="HS256")


def current_user(request: HttpRequest) -> int | None:
    token = request.COOKIES.get("auth_token", "")
    try:
        claims = jwt.decode(token, os.environ["SWITCHBOARD_JWT_SECRET"], algorithms=["HS256"])
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def parsed(request: HttpRequest, model: type[M]) -> M | None:
    """The request's JSON body as `model`, or None (Django already bounds its size)."""
    try:
        return model.model_validate_json(request.body)
    except ValidationError:
        return None


async def switchboard_user_id(username: str) -> int:
    email = f"{username}@shop.example"
    users = switchboard_app.ctx.users
    for found in await users.search(email, limit=5):
        if found.email == email:
            return found.id
    try:
        # The host owns the password; Switchboard's copy is never used.
        return (await users.register(email, secrets.token_urlsafe(24), USERS[username])).id
    except ConflictError:  # a concurrent first login created it
        return await switchboard_user_id(username)


async def home(_request: HttpRequest) -> JsonResponse:
    return JsonResponse({"app": "shop", "switchboard_ready": switchboard_app.ctx.realtime.started})


async def login(request: HttpRequest) -> JsonResponse:
    body = parsed(request, Login)
    if request.method != "POST" or body is None or body.username not in USERS:
        return JsonResponse({"error": "unknown user"}, status=401)
    username = body.username
    user_id = await switchboard_user_id(username)
    token = mint_token(user_id, f"{username}@shop.example")
    response = JsonResponse({"user_id": user_id, "token": token})
    response.set_cookie("auth_token", token, httponly=True, samesite="Lax")
    return response


async def place_order(request: HttpRequest) -> JsonResponse:
    user_id = current_user(request)
    if user_id is None:
        return JsonResponse({"error": "log in first"}, status=401)
    order_in = parsed(request, Order)
    if request.method != "POST" or order_in is None:
        return JsonResponse({"error": 'POST {"item": ...}'}, status=400)
    item = order_in.item
    if item == "unobtainium":
        return JsonResponse({"error": "out_of_stock", "item": item}, status=409)
    order: dict[str, Any] = {"id": secrets.token_hex(4), "item": item}
    # Live only (to every tab of the user), then stored with an unread count.
    await switchboard_app.ctx.realtime.to_user(user_id, "order:created", order)
    await switchboard_app.ctx.notifications.notify(
        NotifyIn(user_ids=[user_id], type="order", title=f"Order {order['id']} placed")
    )
    return JsonResponse(order, status=201)


async def boom(_request: HttpRequest) -> JsonResponse:
    """A bug in the host: Django's own 500 page answers it, not Switchboard."""
    raise RuntimeError("the shop broke")
