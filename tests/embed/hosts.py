"""Host apps whose lifespan misbehaves or reports, mounted as the examples are (run by uvicorn)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import switchboard


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
