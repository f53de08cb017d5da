"""Maintained unread counts on SQLite and PostgreSQL: concurrent writers, reads, scheduling.

Two server processes share one database; requests go to both at once so that
group commit batches several requests and two writers change the same users'
counters. Whatever the interleaving, each user's count must equal the number
of delivered, unread notifications its list shows.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.storage.migrate import alembic_config
from switchboard.storage.models import Notification, NotificationUnread, User
from tests.conftest import ServerFactory
from tests.notifications.helpers import NS, first, listing, notify, start_server, tab
from tests.support.clients import Account, register
from tests.support.postgres import PostgresProcess
from tests.support.server import ServerProcess


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.cluster)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        return
    pg = PostgresProcess().start()
    try:
        yield pg.url
    finally:
        pg.cleanup()


def two_nodes(factory: ServerFactory, url: str) -> tuple[ServerProcess, ServerProcess]:
    env = {
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_SCHEDULER_INTERVAL_SECONDS": "0.1",
        "SWITCHBOARD_RATE_LIMIT": "0",
    }
    return start_server(factory, env), start_server(factory, env)


async def full_list(srv: ServerProcess, user: Account) -> tuple[list[dict[str, object]], int]:
    """Every notification of the user (paging back) and the count the server reports."""
    items: list[dict[str, object]] = []
    page = await listing(srv.url, user, limit=100)
    count = page["unread_count"]
    while page["notifications"]:
        items += page["notifications"]
        page = await listing(srv.url, user, limit=100, before=items[-1]["id"])
    return items, count


async def test_counts_stay_exact_under_concurrent_notify_and_read(
    server_factory: ServerFactory, database_url: str
) -> None:
    node_a, node_b = two_nodes(server_factory, database_url)
    users = [await register(node_a.url) for _ in range(5)]
    ids = [u.id for u in users]
    rng = random.Random(11)
    watcher, rec = await tab(node_b.url, users[0])
    try:
        requests = []
        for i in range(60):
            chosen = rng.sample(ids, rng.randint(1, len(ids)))
            node = (node_a, node_b)[i % 2]
            requests.append(notify(node.url, [*chosen, 10**12], title=f"n{i}"))
        replies = await asyncio.gather(*requests)
        assert {r.status_code for r in replies} == {202}
        stored = [nid for r in replies for nid in r.json()["ids"]]
        assert len(stored) == len(set(stored))

        # Read some of them over both nodes while more are written.
        first_pages = {u.id: await listing(node_a.url, u, limit=100) for u in users}
        reads = []
        for n, user in enumerate(users):
            mine = [x["id"] for x in first_pages[user.id]["notifications"]]
            for nid in mine[: len(mine) // 2] + mine[:2]:  # some twice: a repeat changes nothing
                node = (node_a, node_b)[n % 2]
                reads.append(_read(node, user, nid))
        more = [notify(node_b.url, ids, title=f"late{i}") for i in range(10)]
        results = await asyncio.gather(*reads, *more)
        assert all(200 <= r.status_code < 300 for r in results)

        for user in users:
            for node in (node_a, node_b):
                items, count = await full_list(node, user)
                assert count == sum(1 for x in items if x["read_at"] is None)
        total = 0
        for user in users:
            total += len((await full_list(node_a, user))[0])
        assert total == len(stored) + 10 * len(users)

        # With every other write done, the count pushed with one more notification is
        # the list's: it came from the write's RETURNING, after its commit.
        before = len(rec.of(NS, "notification:unread_count"))
        assert (await notify(node_b.url, [users[0].id], title="last")).status_code == 202
        pushed = await rec.wait_for(NS, "notification:unread_count", before + 1)
        items, count = await full_list(node_a, users[0])
        assert first(pushed[-1]) == {"count": count}
        assert count == sum(1 for x in items if x["read_at"] is None)

        async with httpx.AsyncClient(base_url=node_b.url, headers=users[1].bearer) as http:
            r = await http.post("/api/notifications/read-all")
            assert r.json() == {"unread_count": 0}
        assert (await full_list(node_a, users[1]))[1] == 0
        sock, fresh = await tab(node_a.url, users[1])
        await sock.disconnect()
        assert first(fresh.of(NS, "notification:unread_count")[0]) == {"count": 0}
    finally:
        await watcher.disconnect()


async def _read(node: ServerProcess, user: Account, nid: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=node.url, headers=user.bearer) as http:
        return await http.post(f"/api/notifications/{nid}/read")


async def test_scheduled_notifications_count_once_when_delivered(
    server_factory: ServerFactory, database_url: str
) -> None:
    node_a, node_b = two_nodes(server_factory, database_url)
    alice = await register(node_a.url)
    due = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    scheduled = []
    for i in range(20):
        r = await notify((node_a, node_b)[i % 2].url, [alice.id], title=f"s{i}", deliver_at=due)
        scheduled += r.json()["ids"]
    # Never due during the test: stored, but neither listed nor counted.
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (
        await notify(node_a.url, [alice.id], title="later", deliver_at=later)
    ).status_code == 202

    async def all_delivered() -> bool:
        return len((await full_list(node_b, alice))[0]) == len(scheduled)

    deadline = asyncio.get_running_loop().time() + 30
    while not await all_delivered():
        assert asyncio.get_running_loop().time() < deadline, "scheduled rows not delivered"
        await asyncio.sleep(0.2)
    # Both schedulers ran ten times a second over the same rows: each row counted once.
    await asyncio.sleep(0.5)
    items, count = await full_list(node_a, alice)
    assert sorted(str(x["id"]) for x in items) == sorted(scheduled)
    assert count == len(scheduled)


async def test_migration_backfills_counts_from_existing_rows(database_url: str) -> None:
    engine = create_async_engine(database_url)
    cfg = alembic_config()

    def upgrade(conn: Connection, to: str) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, to)

    now = datetime(2026, 11, 30, 10, tzinfo=UTC)
    rows = [
        (1, now, None),  # delivered, unread: counted
        (1, now, None),
        (1, now, now),  # read
        (1, None, None),  # not yet delivered
        (2, now, now),
        (3, now, None),
    ]
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade, "0002")
            await conn.execute(
                insert(User),
                [
                    {"id": i, "email": f"u{i}@example.com", "name": "u", "password_hash": "x"}
                    for i in (1, 2, 3)
                ],
            )
            await conn.execute(
                insert(Notification),
                [
                    {"user_id": uid, "type": "t", "title": "t", "body": "", "data": {},
                     "created_at": now, "deliver_at": now, "delivered_at": delivered,
                     "read_at": read}
                    for uid, delivered, read in rows
                ],
            )  # fmt: skip
        async with engine.begin() as conn:
            await conn.run_sync(upgrade, "head")
            found = await conn.execute(select(NotificationUnread.user_id, NotificationUnread.count))
            counts = dict(found.tuples().all())
    finally:
        await engine.dispose()
    assert counts == {1: 2, 3: 1}
