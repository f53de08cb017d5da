"""Helpers for notification tests: the internal API, socket clients, payloads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import socketio

from tests.support.clients import Account, Recorder, connect

NS = "/notifications"
API_KEY = "test-api-key"  # what tests/support/server.py configures
EVENTS = {NS: ["notification", "notification:unread_count"]}


def first(recorded: Any) -> Any:
    """The payload of a recorded event (a broadcast may carry a recovery offset after it)."""
    return recorded[0] if isinstance(recorded, list) else recorded


async def notify(
    base_url: str, user_ids: list[int], *, key: str | None = API_KEY, **fields: Any
) -> httpx.Response:
    body: dict[str, Any] = {"user_ids": user_ids, "type": "test", "title": "Hello", **fields}
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.post("/api/internal/notifications", json=body, headers=headers)


async def listing(base_url: str, user: Account, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, headers=user.bearer) as http:
        r = await http.get("/api/notifications", params=params)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body


async def tab(base_url: str, user: Account) -> tuple[socketio.AsyncClient, Recorder]:
    """One browser-tab-like connection to /notifications, recording its events."""
    client, rec = await connect(base_url, user, namespaces=(NS,), events=EVENTS)
    await rec.wait_for(NS, "notification:unread_count")  # sent to every new socket
    return client, rec


async def read_over_socket(client: socketio.AsyncClient, notification_id: Any) -> Any:
    return await client.call("notification:read", {"id": notification_id}, namespace=NS, timeout=5)


class Arrivals:
    """`notification` events with the wall-clock time each arrived, on any number of clients."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    def listen(self, client: socketio.AsyncClient, label: str) -> None:
        async def on_notification(*args: Any) -> None:
            self.items.append((time.time(), label, args[0]))
            self._changed.set()

        client.on("notification", on_notification, namespace=NS)

    def ids(self) -> list[str]:
        return [n["id"] for _, _, n in self.items]

    async def wait_until(self, done: Callable[[], bool], timeout: float = 15.0) -> None:
        async def _wait() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), timeout)


async def disconnect_all(*clients: socketio.AsyncClient) -> None:
    for client in clients:
        await client.disconnect()


def start_server(factory: Any, env: dict[str, str] | None = None) -> Any:
    """A server of its own, with a generous start timeout: CI machines can be busy."""
    proc = factory(env=env, start=False)
    return proc.start(timeout=120)
