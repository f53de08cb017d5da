"""Recovery and delivery across nodes sharing one redis-server (the Redis Streams log)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.recovery.helpers import API_KEY, NS, drop, join, notify, wait_titles
from tests.support.clients import connect, register
from tests.support.node import run_node
from tests.support.redis import RedisProcess
from tests.support.server import ServerProcess

WINDOW = "120"  # a node restart on the loaded test machine can take half a minute


def node_env(redis: RedisProcess, db: Path) -> dict[str, str]:
    return {
        "SWITCHBOARD_REDIS_URL": redis.url,
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "SWITCHBOARD_RECOVERY_SECONDS": WINDOW,
        "SWITCHBOARD_RATE_LIMIT": "0",
        "SWITCHBOARD_SHUTDOWN_GRACE_SECONDS": "3",
    }


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RedisProcess, ServerProcess, ServerProcess]]:
    """redis-server and two nodes on one SQLite file; node A is started first (migrations)."""
    base = tmp_path_factory.mktemp("recovery-cluster")
    redis = RedisProcess(base / "redis").start()
    env = node_env(redis, base / "cluster.db")
    a = ServerProcess(base / "a", env=env).start(timeout=120)
    b = ServerProcess(base / "b", env=env).start(timeout=120)
    yield redis, a, b
    a.stop()
    b.stop()
    redis.stop()


async def test_delivery_and_room_joins_cross_nodes(
    cluster: tuple[RedisProcess, ServerProcess, ServerProcess],
) -> None:
    _redis, a, b = cluster
    alice, bob = await register(a.url), await register(b.url)
    client, rec = await join(a.url, alice)
    chat, chat_rec = await connect(
        a.url, alice, namespaces=("/chat",), events={"/chat": ["message:new"]}
    )
    try:
        await notify(b.url, alice, "from-b-1", "from-b-2")  # emitted on B, delivered on A
        assert await wait_titles(rec, 2) == ["from-b-1", "from-b-2"]
        async with httpx.AsyncClient(base_url=b.url, headers=bob.bearer) as http:
            r = await http.post("/api/conversations", json={"member_ids": [alice.id]})
            cid = r.json()["conversation"]["id"]
            r = await http.post(f"/api/conversations/{cid}/messages", json={"body": "hi"})
            assert r.status_code == 201
        got = await chat_rec.wait_for("/chat", "message:new")
        assert [m["body"] for m in got] == ["hi"]
    finally:
        await client.disconnect()
        await chat.disconnect()


async def test_python_client_recovers_on_the_other_node(
    cluster: tuple[RedisProcess, ServerProcess, ServerProcess],
) -> None:
    _redis, a, b = cluster
    alice = await register(a.url)
    client, rec = await join(a.url, alice)
    await notify(a.url, alice, "x1")
    await wait_titles(rec, 1)
    sid = client.get_sid(NS)
    await drop(client)
    await notify(a.url, alice, "x2", "x3")
    again, rec2 = await join(b.url, alice, previous=client)
    try:
        assert again.recovered[NS] is True
        assert again.get_sid(NS) == sid
        assert await wait_titles(rec2, 2) == ["x2", "x3"]
    finally:
        await again.disconnect()


async def test_node_client_recovers_on_the_other_node(
    cluster: tuple[RedisProcess, ServerProcess, ServerProcess],
) -> None:
    _redis, a, b = cluster
    alice = await register(a.url)
    script = f"""
    const A = "{a.url}", B = "{b.url}";
    async function notify(title) {{
      const r = await fetch(A + "/api/internal/notifications", {{
        method: "POST",
        headers: {{ "content-type": "application/json", authorization: "Bearer {API_KEY}" }},
        body: JSON.stringify({{ user_ids: [{alice.id}], type: "test", title }}),
      }});
      if (r.status !== 202) throw new Error("notify " + r.status);
    }}
    const s = io(A + "/notifications", {{ transports: ["websocket"], reconnectionDelay: 500,
      reconnectionDelayMax: 500, forceNew: true, auth: {{ token: "{alice.token}" }} }});
    const got = [];
    s.on("notification", (n) => got.push(n.title));
    await once(s, "connect");
    const id = s.id;
    await notify("y1");
    while (got.length < 1) await sleep(20);
    s.io.uri = B;  // the load balancer sends the reconnect elsewhere
    s.io.engine.close();
    await notify("y2");
    await notify("y3");
    await once(s, "connect", 8000);
    while (got.length < 3) await sleep(20);
    await sleep(200);
    done({{ recovered: s.recovered, sameId: s.id === id, got }});
    """
    result = await run_node(script, timeout=40)
    assert result == {"recovered": True, "sameId": True, "got": ["y1", "y2", "y3"]}


async def test_recovery_after_the_node_restarts(
    cluster: tuple[RedisProcess, ServerProcess, ServerProcess],
) -> None:
    _redis, a, b = cluster
    alice = await register(a.url)
    client, rec = await join(a.url, alice)
    await notify(a.url, alice, "z1")
    await wait_titles(rec, 1)
    sid = client.get_sid(NS)
    a.stop()  # SIGTERM: drain closes the transport, the session goes to Redis
    await notify(b.url, alice, "z2")
    a.start(timeout=120)
    again, rec2 = await join(a.url, alice, previous=client)
    try:
        assert again.recovered[NS] is True
        assert again.get_sid(NS) == sid
        assert await wait_titles(rec2, 1) == ["z2"]
    finally:
        await again.disconnect()


async def test_delivery_resumes_after_a_redis_restart(
    cluster: tuple[RedisProcess, ServerProcess, ServerProcess],
) -> None:
    redis, a, b = cluster
    alice = await register(a.url)
    client, rec = await join(a.url, alice)
    try:
        redis.kill()
        # The request still succeeds: the notification is stored, its push waits.
        await notify(b.url, alice, "during-outage")
        await asyncio.sleep(1)
        redis.start()
        await notify(b.url, alice, "after")
        await rec.wait_for(NS, "notification", 2, timeout=15)
        assert [n["title"] for n in rec.of(NS, "notification")] == ["during-outage", "after"]
    finally:
        await client.disconnect()


async def test_exactly_once_across_nodes_over_two_thousand_messages(
    cluster: tuple[RedisProcess, ServerProcess, ServerProcess],
) -> None:
    """Two users on different nodes send 1,000 messages each; every socket gets all 2,000 once."""
    _redis, a, b = cluster
    alice, bob = await register(a.url), await register(b.url)
    async with httpx.AsyncClient(base_url=a.url, headers=alice.bearer) as http:
        cid = (await http.post("/api/conversations", json={"member_ids": [bob.id]})).json()[
            "conversation"
        ]["id"]
    on_a, rec_a = await connect(
        a.url, alice, namespaces=("/chat",), events={"/chat": ["message:new"]}
    )
    on_b, rec_b = await connect(
        b.url, bob, namespaces=("/chat",), events={"/chat": ["message:new"]}
    )
    per_sender = 1000

    async def send_all(client: object, tag: str) -> None:
        for start in range(0, per_sender, 50):
            acks = await asyncio.gather(
                *(
                    client.call(  # type: ignore[attr-defined]
                        "message:send",
                        {
                            "conversation_id": cid,
                            "body": f"{tag}-{i}",
                            "client_msg_id": f"{tag}-{i}",
                        },
                        namespace="/chat",
                        timeout=60,
                    )
                    for i in range(start, start + 50)
                )
            )
            assert all(ack["ok"] for ack in acks)

    try:
        await asyncio.gather(send_all(on_a, "a"), send_all(on_b, "b"))
        total = 2 * per_sender
        for rec in (rec_a, rec_b):
            got = await rec.wait_for("/chat", "message:new", count=total, timeout=120)
            await asyncio.sleep(0.5)  # room for a duplicate to show up
            bodies = [m["body"] for m in got]
            assert len(bodies) == total
            assert len(set(bodies)) == total
        # One ordered log: both nodes deliver in the same order (ids from two writers
        # interleave, so that order need not be id order).
        assert [m["id"] for m in rec_a.of("/chat", "message:new")] == [
            m["id"] for m in rec_b.of("/chat", "message:new")
        ]
    finally:
        await on_a.disconnect()
        await on_b.disconnect()
