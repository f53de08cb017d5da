"""Host apps whose lifespan misbehaves or reports, mounted as the examples are (run by uvicorn)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import switchboard
from switchboard.auth.directory import DirectoryUser


@asynccontextmanager
async def _failing(_app: Starlette) -> AsyncIterator[None]:
    raise RuntimeError("the shop has no database")
    yield  # pragma: no cover - an async generator needs one


@asynccontextmanager
async def _reporting(_app: Starlette) -> AsyncIterator[None]:
    yield
    # At the host's shutdown Switchboard still runs: jobs stopping now may emit.
    Path(os.environ["HOST_SHUTDOWN_REPORT"]).write_text(
        f"switchboard running: {probe.realtime.started}"
    )


async def _hello(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def _own_health(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("the host's own health check")


async def _raw_failing(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app whose startup raises after it took the startup message."""
    if scope["type"] == "lifespan":
        await receive()
        raise RuntimeError("the shop has no database")
    await PlainTextResponse("hello")(scope, receive, send)


failing = switchboard.mount(Starlette(routes=[Route("/", _hello)], lifespan=_failing))
raw_failing = switchboard.mount(_raw_failing)
probe = switchboard.mount(Starlette(routes=[Route("/", _hello)], lifespan=_reporting))
# A host with its own /healthz: Switchboard's stays under its prefix.
own_health = switchboard.mount(
    Starlette(routes=[Route("/healthz", _own_health)]), prefix="/rt", root_operations=False
)


# A host that signs users in with its own session cookie (no JWT): Switchboard
# asks it who the caller is through the `authenticate` hook.
SESSIONS: dict[str, DirectoryUser] = {}


async def _session_login(request: Request) -> PlainTextResponse:
    name = request.query_params.get("name", "")
    if not name.isalpha() or len(name) > 20:
        return PlainTextResponse("who?", status_code=400)
    key = secrets.token_urlsafe(16)
    SESSIONS[key] = DirectoryUser(name.lower(), name)
    response = PlainTextResponse("welcome")
    response.set_cookie("shop_session", key, httponly=True)
    return response


async def _session_ping(request: Request) -> PlainTextResponse:
    user = SESSIONS.get(request.cookies.get("shop_session", ""))
    if user is None:
        return PlainTextResponse("log in first", status_code=401)
    user_id = await sessions.ctx.users.resolve_external(user.external_id, user.name)
    await sessions.realtime.to_user(user_id, "ping", {"to": user.external_id})
    return PlainTextResponse("sent")


async def _from_session(
    _headers: Mapping[str, str], cookies: Mapping[str, str]
) -> DirectoryUser | None:
    return SESSIONS.get(cookies.get("shop_session", ""))


sessions = switchboard.mount(
    Starlette(
        routes=[
            Route("/login", _session_login, methods=["POST"]),
            Route("/ping", _session_ping, methods=["POST"]),
        ]
    ),
    authenticate=_from_session,
)
