"""An acknowledged write survives `kill -9` of the server the instant its ack arrives.

Each round opens several sockets and an HTTP client, fires a burst of
`message:send` (with ack) and internal-API notifications at once, so that
group commit puts many of them in one transaction, and SIGKILLs the server by
PID from inside the callback of a randomly chosen ack or 202. The server is
then restarted on the same database. At the end, every message and
notification that was acknowledged — before or after the chosen one, from
any batch — must be listed, and every maintained unread count must match its
list. On SQLite this is WAL with `synchronous=NORMAL` (a process crash loses
nothing committed; see docs/operations.md for power loss); on PostgreSQL,
ordinary commits.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from tests.chat.helpers import CHAT, create_conversation
from tests.notifications.helpers import API_KEY
from tests.support.clients import Account, register
from tests.support.postgres import PostgresProcess
from tests.support.server import ServerProcess

ROUNDS = {"sqlite": 20, "postgres": 15}
SOCKETS = 4
MESSAGES_PER_SOCKET = 8
NOTIFY_REQUESTS = 8
START_TIMEOUT = 120.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(name, SWITCHBOARD_DATABASE_URL)."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite+aiosqlite:///{tmp_path / 'durable.db'}"
        return
    pg = PostgresProcess().start()
    try:
        yield "postgres", pg.url
    finally:
        pg.cleanup()


class Acked:
    """Everything the server acknowledged; SIGKILLs it when the chosen ack comes in.

    The chosen ack is the `kill_at`-th of one kind (`message` or
    `notification`), so rounds kill right after either kind of write.
    """

    def __init__(self, server: ServerProcess, kind: str, kill_at: int) -> None:
        self.pid = server.pid
        self.kind = kind
        self.kill_at = kill_at
        self.seen = {"message": 0, "notification": 0}
        self.killed = False
        self.messages: set[str] = set()
        self.notifications: dict[int, set[str]] = {}

    def _tick(self, kind: str) -> None:
        self.seen[kind] += 1
        if kind == self.kind and self.seen[kind] == self.kill_at and not self.killed:
            self.killed = True
            os.kill(self.pid, signal.SIGKILL)  # before anything else runs

    def message(self, ack: Any) -> None:
        if isinstance(ack, dict) and ack.get("ok") is True:
            self.messages.add(ack["message"]["id"])
            self._tick("message")

    def notification(self, body: dict[str, Any]) -> None:
        for result in body["results"]:
            if result["id"] is not None:
                self.notifications.setdefault(result["user_id"], set()).add(result["id"])
        self._tick("notification")


async def burst(server: ServerProcess, cid: int, users: list[Account], acked: Acked) -> None:
    """Fire every send at once; return once the server is dead and nothing more can come."""
    clients: list[socketio.AsyncClient] = []
    for i in range(SOCKETS):
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            server.url,
            namespaces=[CHAT],
            transports=["websocket"],
            auth={"token": users[i % 2].token},
        )
        clients.append(client)
    for n, client in enumerate(clients):
        for m in range(MESSAGES_PER_SOCKET):
            await client.emit(
                "message:send",
                {"conversation_id": cid, "body": f"s{n}-{m}"},
                namespace=CHAT,
                callback=acked.message,
            )

    async def notify(http: httpx.AsyncClient, k: int) -> None:
        ids = [u.id for u in users] if k % 2 else [users[k % len(users)].id]
        try:
            r = await http.post(
                "/api/internal/notifications",
                json={"user_ids": ids, "title": f"n{k}"},
                headers={"Authorization": f"Bearer {API_KEY}"},
            )
        except httpx.HTTPError:
            return  # cut off by the kill: never acknowledged
        if r.status_code == 202:
            acked.notification(r.json())

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        await asyncio.gather(*(notify(http, k) for k in range(NOTIFY_REQUESTS)))
    assert server.proc is not None
    # Until the chosen ack has killed it (a bound, not a timing assertion: every send
    # of a live server is acknowledged, so the chosen ack does come).
    deadline = asyncio.get_running_loop().time() + 30
    while server.proc.poll() is None:
        if asyncio.get_running_loop().time() > deadline:
            os.kill(server.pid, signal.SIGKILL)
            raise AssertionError(f"acks {acked.seen}; waited for {acked.kind} {acked.kill_at}")
        await asyncio.sleep(0.01)
    for client in clients:
        await client.disconnect()


async def pages(http: httpx.AsyncClient, path: str, key: str, newest_first: bool) -> list[Any]:
    """Every item of a paged list (`before=<id>` backwards)."""
    items: list[Any] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        r = await http.get(path, params=params)
        r.raise_for_status()
        page = r.json()[key]
        if not page:
            return items
        items += page
        params["before"] = page[-1]["id"] if newest_first else page[0]["id"]


async def test_acknowledged_writes_survive_kill_9(
    backend: tuple[str, str], server_factory: Any
) -> None:
    name, url = backend
    env = {"SWITCHBOARD_DATABASE_URL": url, "SWITCHBOARD_RATE_LIMIT": "0"}
    server: ServerProcess = server_factory(env=env, start=False).start(timeout=START_TIMEOUT)
    users = [await register(server.url) for _ in range(3)]
    cid = (await create_conversation(server.url, users[0], users[1:]))["id"]
    rng = random.Random(name)
    all_messages: set[str] = set()
    all_notifications: dict[int, set[str]] = {}
    for n in range(ROUNDS[name]):
        if n % 2:
            acked = Acked(server, "notification", rng.randint(1, NOTIFY_REQUESTS))
        else:
            acked = Acked(server, "message", rng.randint(1, SOCKETS * MESSAGES_PER_SOCKET))
        await burst(server, cid, users, acked)
        assert acked.killed
        all_messages |= acked.messages
        for uid, ids in acked.notifications.items():
            all_notifications.setdefault(uid, set()).update(ids)
        server.start(timeout=START_TIMEOUT)

    # The rounds did acknowledge writes of both kinds.
    assert all_messages
    assert all_notifications
    async with httpx.AsyncClient(base_url=server.url, headers=users[0].bearer) as http:
        stored = await pages(http, f"/api/conversations/{cid}/messages", "messages", False)
    stored_ids = [m["id"] for m in stored]
    assert len(stored_ids) == len(set(stored_ids))
    assert all_messages <= set(stored_ids)
    for user in users:
        async with httpx.AsyncClient(base_url=server.url, headers=user.bearer) as http:
            listed = await pages(http, "/api/notifications", "notifications", True)
            count = (await http.get("/api/notifications", params={"limit": 1})).json()
        assert all_notifications.get(user.id, set()) <= {n["id"] for n in listed}
        # The maintained count was committed with the rows: it survived with them.
        assert count["unread_count"] == sum(1 for n in listed if n["read_at"] is None)
