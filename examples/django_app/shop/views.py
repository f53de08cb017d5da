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
from switchboard.notifications.schemas import NotifyIn

# The host's own users (a real app has django.contrib.auth), named by the host's ids.
USERS = {"alice": "Alice", "bob": "Bob"}
TOKEN_SECONDS = 3600


class Login(BaseModel):
    username: str = Field(max_length=50)


class Order(BaseModel):
    item: str = Field(min_length=1, max_length=100)


M = TypeVar("M", bound=BaseModel)


def mint_token(username: str) -> str:
    """The host's own JWT; Switchboard trusts it in host mode (SWITCHBOARD_JWT_ALGORITHMS)."""
    now = int(time.time())
    claims = {"sub": username, "name": USERS[username], "iat": now, "exp": now + TOKEN_SECONDS}
    return jwt.encode(claims, os.environ["SWITCHBOARD_JWT_SECRET"], algorithm="HS256")


def current_user(request: HttpRequest) -> str | None:
    token = request.COOKIES.get("auth_token", "")
    try:
        claims = jwt.decode(token, os.environ["SWITCHBOARD_JWT_SECRET"], algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub in USERS else None


def parsed(request: HttpRequest, model: type[M]) -> M | None:
    """The request's JSON body as `model`, or None (Django already bounds its size)."""
    try:
        return model.model_validate_json(request.body)
    except ValidationError:
        return None


async def home(_request: HttpRequest) -> JsonResponse:
    return JsonResponse({"app": "shop", "switchboard_ready": switchboard_app.ctx.realtime.started})


async def login(request: HttpRequest) -> JsonResponse:
    body = parsed(request, Login)
    if request.method != "POST" or body is None or body.username not in USERS:
        return JsonResponse({"error": "unknown user"}, status=401)
    username = body.username
    token = mint_token(username)
    response = JsonResponse({"user": username, "token": token})
    response.set_cookie("auth_token", token, httponly=True, samesite="Lax")
    return response


async def place_order(request: HttpRequest) -> JsonResponse:
    username = current_user(request)
    if username is None:
        return JsonResponse({"error": "log in first"}, status=401)
    order_in = parsed(request, Order)
    if request.method != "POST" or order_in is None:
        return JsonResponse({"error": 'POST {"item": ...}'}, status=400)
    item = order_in.item
    if item == "unobtainium":
        return JsonResponse({"error": "out_of_stock", "item": item}, status=409)
    order: dict[str, Any] = {"id": secrets.token_hex(4), "item": item}
    # Payloads and rooms name users by Switchboard's integer id: map the host's.
    user_id = await switchboard_app.ctx.users.resolve_external(username, USERS[username])
    # Live only (to every tab of the user), then stored with an unread count.
    await switchboard_app.ctx.realtime.to_user(user_id, "order:created", order)
    await switchboard_app.ctx.notifications.notify(
        NotifyIn(user_ids=[user_id], type="order", title=f"Order {order['id']} placed")
    )
    return JsonResponse(order, status=201)


async def boom(_request: HttpRequest) -> JsonResponse:
    """A bug in the host: Django's own 500 page answers it, not Switchboard."""
    raise RuntimeError("the shop broke")
