"""Several nodes on a real PostgreSQL: chat across nodes, a scheduled notification once, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.conftest import Nodes, eventually
from tests.support.clients import connect, register
from tests.support.postgres import PostgresProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster


def counter(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def scrape(node: ServerProcess) -> str:
    async with httpx.AsyncClient(base_url=node.url) as http:
        r = await http.get("/metrics")
        r.raise_for_status()
        return r.text


async def test_three_nodes_on_postgres_chat_and_deliver_a_scheduled_notification_once(
    nodes: Nodes, postgres: PostgresProcess
) -> None:
    n1, n2, n3 = nodes(3, database_url=postgres.url, SWITCHBOARD_SCHEDULER_INTERVAL_SECONDS="0.2")
    ada, bob = await register(n1.url), await register(n2.url)
    async with httpx.AsyncClient(base_url=n3.url) as http:
        r = await http.post("/api/conversations", json={"member_ids": [bob.id]}, headers=ada.bearer)
        assert r.status_code == 201
        cid = r.json()["conversation"]["id"]
    ada_sock, _ = await connect(n1.url, ada)
    bob_sock, bob_rec = await connect(
        n2.url, bob, events={"/chat": ["message:new"], "/notifications": ["notification"]}
    )
    try:
        # A message sent on node 1 reaches Bob on node 2, once.
        ack = await ada_sock.call(
            "message:send", {"conversation_id": cid, "body": "hello from n1"}, namespace="/chat"
        )
        assert ack["ok"] is True
        got = await bob_rec.wait_for("/chat", "message:new", timeout=10)
        assert [m["id"] for m in got] == [ack["message"]["id"]]

        # Every node runs the scheduler; the claim on PostgreSQL lets one deliver it.
        due = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        async with httpx.AsyncClient(base_url=n1.url) as http:
            r = await http.post(
                "/api/internal/notifications",
                json={"user_ids": [bob.id], "type": "reminder", "title": "t", "deliver_at": due},
                headers={"Authorization": "Bearer test-api-key"},
            )
            assert r.status_code == 202
            (nid,) = r.json()["ids"]
        notes = await bob_rec.wait_for("/notifications", "notification", timeout=15)
        assert [n["id"] for n in notes] == [nid]
        # Emitted by exactly one node, as the metrics of all three say.
        sent = [
            counter(await scrape(n), "switchboard_events_out_total", event="notification")
            for n in (n1, n2, n3)
        ]
        assert sum(sent) == 1
        async with httpx.AsyncClient(base_url=n2.url) as http:
            r = await http.get(f"/api/conversations/{cid}/messages", headers=bob.bearer)
            assert [m["body"] for m in r.json()["messages"]] == ["hello from n1"]
        assert [n["id"] for n in bob_rec.of("/notifications", "notification")] == [nid]
    finally:
        await ada_sock.disconnect()
        await bob_sock.disconnect()


async def test_postgres_restart_gives_fast_503_then_recovers(
    nodes: Nodes, postgres: PostgresProcess
) -> None:
    (node,) = nodes(1, database_url=postgres.url)
    ada = await register(node.url)
    async with httpx.AsyncClient(base_url=node.url, timeout=20) as http:
        assert (await http.get("/api/conversations", headers=ada.bearer)).status_code == 200
        postgres.stop()
        r = await http.get("/api/conversations", headers=ada.bearer)
        assert r.status_code == 503
        assert r.json()["code"] == "unavailable"
        health = await http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["checks"]["database"] is False
        postgres.start()

        async def serving() -> bool:
            r = await http.get("/api/conversations", headers=ada.bearer)
            return r.status_code == 200

        await eventually(serving, timeout=30)
        assert (await http.get("/healthz")).status_code == 200
        r = await http.post("/api/conversations", json={"member_ids": []}, headers=ada.bearer)
        assert r.status_code == 201
