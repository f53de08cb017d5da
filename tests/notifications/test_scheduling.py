"""Scheduled delivery over the database: due times, restarts, two nodes, the CLI, pruning."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ServerFactory
from tests.notifications.helpers import (
    NS,
    Arrivals,
    disconnect_all,
    first,
    listing,
    notify,
    start_server,
    tab,
)
from tests.support.clients import register
from tests.support.server import ServerProcess


def _at(seconds_from_now: float) -> tuple[float, str]:
    when = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return when.timestamp(), when.isoformat()


def _db_path(srv: ServerProcess) -> Path:
    return srv.workdir / "switchboard.db"


def _sql(db: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def _sqlite_time(when: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def _poll(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_scheduled_notification_arrives_once_and_not_before_due(
    server: ServerProcess,
) -> None:
    alice = await register(server.url)
    sock, rec = await tab(server.url, alice)
    arrivals = Arrivals()
    arrivals.listen(sock, "tab")
    try:
        due, due_iso = _at(2.0)
        r = await notify(server.url, [alice.id], title="stand-up", deliver_at=due_iso)
        assert r.status_code == 202, r.text
        (nid,) = r.json()["ids"]
        far = (await notify(server.url, [alice.id], title="later", deliver_at=_at(3600)[1])).json()
        (far_id,) = far["ids"]
        # Not yet delivered: invisible to the list, the count and the read event.
        page = await listing(server.url, alice)
        assert far_id not in [n["id"] for n in page["notifications"]]
        async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
            assert (await http.post(f"/api/notifications/{far_id}/read")).status_code == 404

        await arrivals.wait_until(lambda: nid in arrivals.ids())
        received_at, _, pushed = arrivals.items[0]
        assert received_at >= due
        assert pushed["title"] == "stand-up"
        counts = await rec.wait_for(NS, "notification:unread_count", 2)
        assert first(counts[-1]) == {"count": 1}

        # A sentinel due after it has gone through the scheduler: by then any second
        # delivery of the first would have arrived too.
        sentinel = (await notify(server.url, [alice.id], title="s", deliver_at=_at(1.5)[1])).json()
        await arrivals.wait_until(lambda: sentinel["ids"][0] in arrivals.ids())
        assert arrivals.ids() == [nid, sentinel["ids"][0]]
        page = await listing(server.url, alice)
        assert [n["id"] for n in page["notifications"]] == [sentinel["ids"][0], nid]
    finally:
        await sock.disconnect()


async def test_two_servers_on_one_database_deliver_each_once(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    shared = {
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        "SWITCHBOARD_SCHEDULER_INTERVAL_SECONDS": "0.1",
        "SWITCHBOARD_RATE_LIMIT": "0",
    }
    node_a = start_server(server_factory, shared)
    node_b = start_server(server_factory, shared)
    alice = await register(node_a.url)
    tab_a, _ = await tab(node_a.url, alice)
    tab_b, _ = await tab(node_b.url, alice)
    arrivals = Arrivals()
    arrivals.listen(tab_a, "a")
    arrivals.listen(tab_b, "b")
    try:
        ids: list[str] = []
        for i in range(30):
            node = node_a if i % 2 else node_b
            r = await notify(node.url, [alice.id], title=f"n{i}", deliver_at=_at(1.0 + i * 0.03)[1])
            ids += r.json()["ids"]
        # Without Redis a node pushes to its own sockets only: each row reaches exactly
        # one of the two tabs, and only if exactly one node claimed it.
        await arrivals.wait_until(lambda: len(arrivals.items) >= len(ids))
        await asyncio.sleep(1.0)  # ten more ticks of each node: room for a double delivery
        assert sorted(arrivals.ids()) == sorted(ids)
        for node in (node_a, node_b):
            page = await listing(node.url, alice, limit=100)
            assert sorted(n["id"] for n in page["notifications"]) == sorted(ids)
            assert page["unread_count"] == len(ids)
    finally:
        await disconnect_all(tab_a, tab_b)


async def test_due_while_the_server_was_down_is_delivered_after_start(
    server_factory: ServerFactory,
) -> None:
    srv = start_server(server_factory)
    alice = await register(srv.url)
    r = await notify(srv.url, [alice.id], title="while you were out", deliver_at=_at(3600)[1])
    (nid,) = r.json()["ids"]
    srv.stop()
    db = _db_path(srv)
    assert _sql(db, "SELECT delivered_at FROM notifications") == [(None,)]
    # It fell due while no server ran.
    _sql(db, "UPDATE notifications SET deliver_at = ?", _sqlite_time(datetime.now(UTC)))
    srv.start(timeout=120)

    async def delivered() -> bool:
        page = await listing(srv.url, alice)
        return [n["id"] for n in page["notifications"]] == [nid]

    await _poll(delivered)
    sock, rec = await tab(srv.url, alice)
    try:
        assert first(rec.of(NS, "notification:unread_count")[0]) == {"count": 1}
    finally:
        await sock.disconnect()
    assert len(_sql(db, "SELECT id FROM notifications WHERE delivered_at IS NOT NULL")) == 1


async def test_notifications_and_read_state_survive_a_restart(
    server_factory: ServerFactory,
) -> None:
    srv = start_server(server_factory)
    alice = await register(srv.url)
    for title in ("first", "second", "third"):
        assert (
            await notify(srv.url, [alice.id], title=title, data={"t": title})
        ).status_code == 202
    before = await listing(srv.url, alice)
    async with httpx.AsyncClient(base_url=srv.url, headers=alice.bearer) as http:
        r = await http.post(f"/api/notifications/{before['notifications'][1]['id']}/read")
        assert r.status_code == 200
    before = await listing(srv.url, alice)
    assert before["unread_count"] == 2

    srv.stop()
    srv.start(timeout=120)
    after = await listing(srv.url, alice)
    assert after == before
    assert [n["title"] for n in after["notifications"]] == ["third", "second", "first"]
    assert after["notifications"][1]["read_at"] is not None


async def _run_cli(srv: ServerProcess, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard",
        "notify",
        *args,
        cwd=srv.workdir,
        env=srv.environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_stores_and_the_running_server_delivers(server: ServerProcess) -> None:
    alice, bob = await register(server.url), await register(server.url)
    sock, rec = await tab(server.url, alice)
    try:
        code, out, err = await _run_cli(
            server,
            "--user", str(alice.id), "--user", str(bob.id),
            "--title", "Maintenance tonight", "--body", "22:00 UTC",
            "--type", "ops", "--data", '{"window": 30}',
        )  # fmt: skip
        assert code == 0, err
        result = json.loads(out)
        alice_id, bob_id = result["ids"]
        (pushed,) = await rec.wait_for(NS, "notification", timeout=15)
        pushed = first(pushed)
        assert pushed["id"] == alice_id
        assert (pushed["title"], pushed["body"], pushed["type"]) == (
            "Maintenance tonight",
            "22:00 UTC",
            "ops",
        )
        assert pushed["data"] == {"window": 30}
        counts = await rec.wait_for(NS, "notification:unread_count", 2)
        assert first(counts[-1]) == {"count": 1}
        bob_page = await listing(server.url, bob)
        assert [n["id"] for n in bob_page["notifications"]] == [bob_id]
    finally:
        await sock.disconnect()


async def test_cli_refuses_bad_input(server: ServerProcess) -> None:
    alice = await register(server.url)
    code, _, err = await _run_cli(server, "--user", str(10**12), "--title", "x")
    assert code == 1
    assert "unknown user" in err
    for bad in (
        ["--user", str(alice.id), "--title", "x", "--at", "2030-01-01T09:00:00"],
        ["--user", str(alice.id), "--title", "x", "--data", "[1]"],
        ["--user", str(alice.id), "--title", "   "],
    ):
        code, _, err = await _run_cli(server, *bad)
        assert code == 2, (bad, err)
        assert "Traceback" not in err
    assert (await listing(server.url, alice))["notifications"] == []


async def test_housekeeping_prunes_old_read_notifications(server_factory: ServerFactory) -> None:
    srv = start_server(server_factory, {"SWITCHBOARD_NOTIFICATION_RETENTION_DAYS": "30"})
    alice = await register(srv.url)
    old_read, old_unread, recent_read = [
        (await notify(srv.url, [alice.id], title=t)).json()["ids"][0]
        for t in ("old read", "old unread", "recent read")
    ]
    async with httpx.AsyncClient(base_url=srv.url, headers=alice.bearer) as http:
        for nid in (old_read, recent_read):
            assert (await http.post(f"/api/notifications/{nid}/read")).status_code == 200
    srv.stop()
    long_ago = _sqlite_time(datetime.now(UTC) - timedelta(days=40))
    _sql(
        _db_path(srv),
        "UPDATE notifications SET created_at = ? WHERE id IN (?, ?)",
        long_ago,
        int(old_read),
        int(old_unread),
    )
    srv.start(timeout=120)

    async def pruned() -> bool:
        page = await listing(srv.url, alice)
        return old_read not in [n["id"] for n in page["notifications"]]

    await _poll(pruned)
    page = await listing(srv.url, alice)
    assert [n["id"] for n in page["notifications"]] == [recent_read, old_unread]
