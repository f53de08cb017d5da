"""Real clients against a real server: HTTP (httpx) and python-socketio."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

from tests.support.recovering import RecoveringClient

_counter = itertools.count(1)


@dataclass
class Account:
    id: int
    email: str
    name: str
    token: str
    password: str = "password-123"

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"auth_token={self.token}"}

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(base_url: str, name: str | None = None) -> Account:
    n = next(_counter)
    name = name or f"user{n}"
    email = f"{name.lower()}-{n}-{id(object())}@example.com"
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.post(
            "/api/auth/register", json={"email": email, "password": "password-123", "name": name}
        )
        r.raise_for_status()
        body = r.json()
    return Account(id=body["user"]["id"], email=email, name=name, token=body["token"])


@dataclass
class Recorder:
    """Collects every event a python-socketio client receives, per namespace."""

    events: dict[tuple[str, str], list[Any]] = field(default_factory=lambda: defaultdict(list))
    _signal: asyncio.Event = field(default_factory=asyncio.Event)

    def handler(self, namespace: str, event: str) -> Any:
        async def record(*args: Any) -> None:
            self.events[(namespace, event)].append(args[0] if len(args) == 1 else list(args))
            self._signal.set()

        return record

    def of(self, namespace: str, event: str) -> list[Any]:
        return self.events[(namespace, event)]

    async def wait_for(
        self, namespace: str, event: str, count: int = 1, timeout: float = 5.0
    ) -> list[Any]:
        async def _wait() -> None:
            while len(self.events[(namespace, event)]) < count:
                self._signal.clear()
                await self._signal.wait()

        await asyncio.wait_for(_wait(), timeout)
        return self.events[(namespace, event)]


async def connect(
    base_url: str,
    user: Account | None = None,
    *,
    namespaces: tuple[str, ...] = ("/chat", "/notifications"),
    events: dict[str, list[str]] | None = None,
    transports: list[str] | None = None,
    use_cookie: bool = True,
    auth: dict[str, Any] | None = None,
    reconnection: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[socketio.AsyncClient, Recorder]:
    """Connect a python-socketio client, recording the listed events per namespace."""
    # Strips broadcast offsets (connection state recovery) like the SDK does.
    client = RecoveringClient(reconnection=reconnection)
    rec = Recorder()
    for ns, names in (events or {}).items():
        for name in names:
            client.on(name, rec.handler(ns, name), namespace=ns)
    headers = {**(user.cookie if (user and use_cookie) else {}), **(headers or {})}
    if auth is None and user is not None and not use_cookie:
        auth = {"token": user.token}
    await client.connect(
        base_url,
        namespaces=list(namespaces),
        headers=headers,
        auth=auth,
        transports=transports or ["websocket"],
        wait_timeout=5,
    )
    return client, rec
