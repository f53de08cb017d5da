"""Serve an app built in the test's own process on a real uvicorn, on a free port.

For what only an in-process app can show (Python hooks, the emit facade);
everything else runs `switchboard serve` in a subprocess (`server.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from switchboard.app import create_app
from switchboard.config import Settings
from switchboard.context import AppContext
from switchboard.storage.models import User
from tests.support.server import free_port


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """The app's base URL while uvicorn serves it (its lifespan included)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # a failed start would otherwise wait forever
            await task
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def app_context(tmp_path: Path) -> AsyncIterator[AppContext]:
    """A whole app on a SQLite file in `tmp_path`, started (its lifespan) but not served:
    for tests that call its services directly."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        data_dir=tmp_path,
        jwt_secret="t" * 40,
        user_message_rate=0,
    )
    app = create_app(settings)
    async with app.http.router.lifespan_context(app.http):
        yield app.ctx


async def register(ctx: AppContext, *names: str) -> list[User]:
    """One user per name (`{name}@example.com`, password `password-123`)."""
    return [await ctx.users.register(f"{n}@example.com", "password-123", n) for n in names]
