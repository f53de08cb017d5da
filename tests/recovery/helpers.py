"""Helpers for recovery tests: notify through the real internal API, drop and reconnect."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.clients import Account, Recorder
from tests.support.recovering import RecoveringClient

NS = "/notifications"
API_KEY = "test-api-key"  # tests/support/server.py sets it
RECOVERY_ENV = {"SWITCHBOARD_RECOVERY_SECONDS": "3", "SWITCHBOARD_RATE_LIMIT": "0"}


async def notify(base_url: str, user: Account, *titles: str) -> None:
    """Store and push one notification per title to `user` (in order)."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        for title in titles:
            r = await http.post(
                "/api/internal/notifications",
                json={"user_ids": [user.id], "type": "test", "title": title},
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
            r.raise_for_status()


async def join(
    base_url: str, user: Account, previous: RecoveringClient | None = None, token: str | None = None
) -> tuple[RecoveringClient, Recorder]:
    """Connect (or reconnect, carrying `previous`'s pid and offset) to /notifications."""
    client = RecoveringClient(reconnection=False)
    if previous is not None:
        client.resume_from(previous)
    rec = Recorder()
    client.on("notification", rec.handler(NS, "notification"), namespace=NS)
    await client.connect(
        base_url,
        namespaces=[NS],
        auth={"token": token or user.token},
        transports=["websocket"],
        wait_timeout=5,
    )
    return client, rec


async def drop(client: RecoveringClient) -> None:
    """Lose the transport (no Socket.IO DISCONNECT), as a dead network does."""
    await client.eio.disconnect(abort=True)
    await asyncio.sleep(0.2)  # let the server see the close before anything else happens


def titles(rec: Recorder) -> list[str]:
    got: list[Any] = rec.of(NS, "notification")
    return [n["title"] for n in got]


async def wait_titles(rec: Recorder, count: int) -> list[str]:
    await rec.wait_for(NS, "notification", count)
    await asyncio.sleep(0.2)  # a double would arrive now
    return titles(rec)
