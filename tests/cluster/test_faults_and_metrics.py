"""/metrics moves with traffic; a Redis restart mid-traffic is seen, survived and healed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import Nodes, eventually, online_on
from tests.cluster.test_postgres import counter, scrape
from tests.support.clients import connect, register
from tests.support.redis import RedisProcess

pytestmark = pytest.mark.cluster


async def test_metrics_parse_and_counters_move_with_traffic(nodes: Nodes) -> None:
    (node,) = nodes(1, SWITCHBOARD_LOG_JSON="true")
    ada, bob = await register(node.url), await register(node.url)
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.post(
            "/api/conversations",
            json={"member_ids": [bob.id]},
            headers={**ada.bearer, "X-Request-ID": "trace-0001"},
        )
        cid = r.json()["conversation"]["id"]
        assert r.headers["x-request-id"] == "trace-0001"
        r = await http.get("/api/conversations", headers={**ada.bearer, "X-Request-ID": "no way"})
        assert r.headers["x-request-id"] not in ("", "no way")
    lines = [json.loads(ln) for ln in node.log().splitlines() if ln.startswith("{")]
    traced = [ln for ln in lines if ln.get("request_id") == "trace-0001"]
    assert traced[-1]["event"] == "http request"
    assert traced[-1]["status"] == 201
    assert traced[-1]["path"] == "/api/conversations"
    before = await scrape(node)
    ada_sock, _ = await connect(node.url, ada)
    bob_sock, bob_rec = await connect(node.url, bob, events={"/chat": ["message:new"]})
    try:
        # Presence reaches Redis a round trip after the connect is acknowledged
        # (asked over HTTP, so that the socket counters below see only the three).
        async def bob_online() -> bool:
            return (await online_on(node, ada.token, [bob.id]))[str(bob.id)]

        await eventually(bob_online, timeout=10, interval=0.05)
        for _ in range(3):
            ack = await ada_sock.call("presence:query", {"user_ids": [bob.id]}, namespace="/chat")
            assert ack == {"ok": True, "online": {str(bob.id): True}}
        ack = await ada_sock.call(
            "message:send", {"conversation_id": cid, "body": "counted"}, namespace="/chat"
        )
        assert ack["ok"] is True
        await bob_rec.wait_for("/chat", "message:new")
        after = await scrape(node)

        def delta(name: str, **labels: str) -> float:
            return counter(after, name, **labels) - counter(before, name, **labels)

        assert delta("switchboard_events_in_total", namespace="/chat", event="presence:query") == 3
        assert delta("switchboard_handler_seconds_count", event="message:send") == 1
        assert delta("switchboard_events_out_total", event="message:new") == 1
        # Ada's and Bob's /chat sockets are both in the conversation room.
        assert delta("switchboard_emit_fanout_sum") >= 2
        assert counter(after, "switchboard_connected_sockets", namespace="/chat") == 2
        assert counter(after, "switchboard_online_users") == 2
        assert counter(after, "switchboard_redis_up") == 1
        assert delta("switchboard_http_requests_total", status="2xx") >= 1
    finally:
        await ada_sock.disconnect()
        await bob_sock.disconnect()


async def test_redis_restart_while_messages_flow(nodes: Nodes, redis_server: RedisProcess) -> None:
    n1, n2 = nodes(2)
    ada, bob = await register(n1.url), await register(n1.url)
    async with httpx.AsyncClient(base_url=n1.url) as http:
        r = await http.post("/api/conversations", json={"member_ids": [bob.id]}, headers=ada.bearer)
        cid = r.json()["conversation"]["id"]
    ada_sock, _ = await connect(n1.url, ada)
    bob_sock, bob_rec = await connect(n2.url, bob, events={"/chat": ["message:new"]})
    acked: list[str] = []

    async def send(body: str) -> dict[str, Any]:
        ack: dict[str, Any] = await ada_sock.call(
            "message:send", {"conversation_id": cid, "body": body}, namespace="/chat", timeout=15
        )
        if ack["ok"]:
            acked.append(ack["message"]["id"])
        return ack

    try:
        await send("before")
        await bob_rec.wait_for("/chat", "message:new", timeout=10)

        redis_server.kill()
        async with httpx.AsyncClient(base_url=n1.url, timeout=20) as http:
            health = await http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["checks"]["redis"] is False

            async def metrics_show_outage() -> bool:
                return counter(await scrape(n1), "switchboard_redis_up") == 0

            await eventually(metrics_show_outage, timeout=15)
            # Chat keeps storing messages while Redis is away.
            assert (await send("during"))["ok"] is True

            redis_server.start()

            async def healthy() -> bool:
                return (await http.get("/healthz")).status_code == 200

            await eventually(healthy, timeout=15)

        # Presence is rebuilt from each node's own sockets into the empty Redis.
        async def both_online() -> bool:
            views = [await online_on(n, ada.token, [ada.id, bob.id]) for n in (n1, n2)]
            return all(all(view.values()) for view in views)

        await eventually(both_online, timeout=15)

        # Live delivery across nodes resumes.
        seen_before = len(bob_rec.of("/chat", "message:new"))

        async def delivered_again() -> bool:
            if len(bob_rec.of("/chat", "message:new")) > seen_before:
                return True
            await send("after")
            await asyncio.sleep(0.5)
            return len(bob_rec.of("/chat", "message:new")) > seen_before

        await eventually(delivered_again, timeout=20, interval=0.5)
        async with httpx.AsyncClient(base_url=n2.url) as http:
            r = await http.get(f"/api/conversations/{cid}/messages", headers=bob.bearer)
            stored = {m["id"] for m in r.json()["messages"]}
        assert set(acked) <= stored
        assert counter(await scrape(n1), "switchboard_redis_up") == 1
    finally:
        await ada_sock.disconnect()
        await bob_sock.disconnect()
