"""Fixtures for the Python client tests: SDK clients that are always closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from switchboard.client import SwitchboardClient
from tests.support.clients import Account
from tests.support.server import ServerProcess

ClientFactory = Callable[..., Awaitable[SwitchboardClient]]


@pytest.fixture
async def sdk() -> AsyncIterator[ClientFactory]:
    """`await sdk(server, account, **options)`: a connected SwitchboardClient, closed afterwards."""
    made: list[SwitchboardClient] = []

    async def make(
        server: ServerProcess, account: Account, *, connect: bool = True, **options: Any
    ) -> SwitchboardClient:
        client = SwitchboardClient(
            server.url, email=account.email, password=account.password, **options
        )
        made.append(client)
        if connect:
            await client.connect()
        return client

    yield make
    for client in made:
        await client.close()


class Inbox:
    """Collects what a client's handlers receive, and waits for it without sleeping blindly."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()

    def __call__(self, item: Any) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait(self, count: int = 1, timeout: float = 5.0) -> list[Any]:
        async def _wait() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), timeout)
        return self.items


async def send_notification(
    server: ServerProcess, user_ids: list[int], title: str, **extra: Any
) -> list[str]:
    """Create a notification through the internal API (bearer API key)."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/internal/notifications",
            json={"user_ids": user_ids, "type": "test", "title": title, **extra},
            headers={"Authorization": "Bearer test-api-key"},
        )
        assert r.status_code == 202, r.text
        ids: list[str] = r.json()["ids"]
        return ids


async def eventually(
    probe: Callable[[], Awaitable[object]], expected: object, timeout: float = 10.0
) -> None:
    """Poll `probe()` until it returns `expected` (fails with the last value otherwise)."""
    last: object = None

    async def _wait() -> None:
        nonlocal last
        while (last := await probe()) != expected:
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(_wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"still {last!r}, expected {expected!r}") from None
