"""Emitting from processes that run no Socket.IO server: `Publisher` (Redis) and `Notifier` (HTTP).

Two real nodes share a redis-server and a database; the test process is the
"worker". Would fail if the publisher's stream entries differed from the
nodes' own (nothing delivered, or only on one node), if they were left out
of recovery, or if the internal API helper did not store and push.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchboard import Notifier, Publisher, SyncPublisher
from switchboard.realtime.backends.redis_stream import stream_pos
from tests.recovery.helpers import drop
from tests.support.clients import Recorder, connect, register
from tests.support.recovering import RecoveringClient
from tests.support.redis import RedisProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster

API_KEY = "test-api-key"  # tests/support/server.py sets it


@pytest.fixture
def nodes(
    redis_server: RedisProcess, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "SWITCHBOARD_REDIS_URL": redis_server.url,
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
    }
    a = ServerProcess(tmp_path / "a", env=env).start(timeout=120)
    try:
        b = ServerProcess(tmp_path / "b", env=env).start(timeout=120)
    except BaseException:
        a.stop()
        raise
    yield a, b
    b.stop()
    a.stop()


async def test_a_publisher_reaches_users_rooms_and_namespaces_on_every_node(
    redis_server: RedisProcess, nodes: tuple[ServerProcess, ServerProcess]
) -> None:
    a, b = nodes
    alice = await register(a.url, "Alice")
    bob = await register(b.url, "Bob")
    async with httpx.AsyncClient(base_url=b.url, headers=bob.bearer) as http:
        r = await http.post("/api/conversations", json={"member_ids": [alice.id]})
        assert r.status_code == 201, r.text
        room = f"conversation:{r.json()['conversation']['id']}"

    watched = {"/notifications": ["job:done"], "/chat": ["deploy", "room:note"]}
    on_a, alice_rec = await connect(a.url, alice, events=watched)
    on_b, bob_rec = await connect(b.url, bob, events=watched)
    try:
        async with Publisher.from_url(redis_server.url) as publisher:
            offset = await publisher.to_user(alice.id, "job:done", {"job": 7})
            assert re.fullmatch(r"\d+-\d+", offset)
            await publisher.to_room(room, "room:note", {"text": "from cron"})
            await publisher.to_namespace("deploy", ("v2", 3), namespace="/chat")

        def from_a_script() -> str:  # blocking code, no event loop: SyncPublisher
            with SyncPublisher.from_url(redis_server.url) as sync_publisher:
                return sync_publisher.to_user(bob.id, "job:done", {"job": 8})

        later = await asyncio.to_thread(from_a_script)
        assert stream_pos(later) > stream_pos(offset)

        for rec in (alice_rec, bob_rec):
            assert await rec.wait_for("/chat", "room:note") == [{"text": "from cron"}]
            assert await rec.wait_for("/chat", "deploy") == [["v2", 3]]
        assert await alice_rec.wait_for("/notifications", "job:done") == [{"job": 7}]
        # Each got only its own: alice's came first, so bob would have it by now.
        assert await bob_rec.wait_for("/notifications", "job:done") == [{"job": 8}]
        assert alice_rec.of("/notifications", "job:done") == [{"job": 7}]
    finally:
        await on_a.disconnect()
        await on_b.disconnect()


async def test_published_events_are_replayed_to_a_client_that_reconnects_elsewhere(
    redis_server: RedisProcess, nodes: tuple[ServerProcess, ServerProcess]
) -> None:
    a, b = nodes
    alice = await register(a.url)

    async def join(
        url: str, previous: RecoveringClient | None
    ) -> tuple[RecoveringClient, Recorder]:
        client = RecoveringClient(reconnection=False)
        if previous is not None:
            client.resume_from(previous)
        rec = Recorder()
        client.on("job:done", rec.handler("/notifications", "job:done"), namespace="/notifications")
        await client.connect(
            url,
            namespaces=["/notifications"],
            auth={"token": alice.token},
            transports=["websocket"],
        )
        return client, rec

    async with Publisher.from_url(redis_server.url) as publisher:
        first, rec = await join(a.url, None)
        await publisher.to_user(alice.id, "job:done", 1)
        assert await rec.wait_for("/notifications", "job:done") == [1]
        await drop(first)
        await publisher.to_user(alice.id, "job:done", 2)
        await publisher.to_user(alice.id, "job:done", 3)
        again, rec2 = await join(b.url, first)
        try:
            assert again.recovered["/notifications"] is True
            assert await rec2.wait_for("/notifications", "job:done", 2) == [2, 3]
        finally:
            await again.disconnect()


async def test_a_namespace_no_node_reads_is_refused_before_anything_is_sent() -> None:
    publisher = Publisher.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        with pytest.raises(ValueError, match="no such namespace"):
            await publisher.to_namespace("x", {}, namespace="/admin")
    finally:
        await publisher.aclose()


async def test_a_notifier_stores_and_pushes_through_the_internal_api(
    nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = nodes
    alice = await register(a.url)
    client, rec = await connect(b.url, alice, events={"/notifications": ["notification"]})
    try:
        async with Notifier(a.url, API_KEY) as notifier:
            out = await notifier.notify([alice.id], "Report ready", data={"url": "/r/7"})
        assert len(out.ids) == 1
        (pushed,) = await rec.wait_for("/notifications", "notification")
        assert pushed["id"] == out.ids[0]
        assert pushed["data"] == {"url": "/r/7"}
    finally:
        await client.disconnect()
    async with httpx.AsyncClient(base_url=b.url, headers=alice.bearer) as http:
        stored = (await http.get("/api/notifications")).json()
    assert [n["title"] for n in stored["notifications"]] == ["Report ready"]

    async with Notifier(a.url, "wrong-key") as notifier:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await notifier.notify([alice.id], "nope")
    assert refused.value.response.status_code == 401
