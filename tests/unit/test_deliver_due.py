"""The scheduler's tick: a read first, a write transaction only when something is due; retention.

On SQLite the write lock is shared with the chat and notification writers of
the process, so a tick that took it every second for nothing would hold up
sends. Runs `NotificationService.deliver_due` on a real SQLite file; the
realtime side is a recorder (only its `to_rooms` is reached).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.notifications import service as service_module
from switchboard.notifications.service import NotificationService
from switchboard.realtime.facade import Realtime
from switchboard.storage.database import Database
from switchboard.storage.models import Notification, User, utcnow
from switchboard.types import Broadcast
from tests.support.database import migrated


class CountingDatabase(Database):
    """The real database, counting the write transactions opened through `write_session`."""

    writes = 0

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[AsyncSession]:
        self.writes += 1
        async with super().write_session() as session:
            yield session


class RecordingRealtime:
    started = True

    def __init__(self) -> None:
        self.sent: list[Broadcast] = []

    async def to_rooms(self, broadcasts: Sequence[Broadcast], *, namespace: str) -> None:
        self.sent.extend(broadcasts)


async def _service(
    tmp_path: Path,
) -> tuple[CountingDatabase, NotificationService, RecordingRealtime]:
    db = await migrated(tmp_path, kind=CountingDatabase)
    realtime = RecordingRealtime()
    return db, NotificationService(db, cast(Realtime, realtime)), realtime


async def _store(db: Database, **when: Any) -> tuple[int, int]:
    async with db.session() as session:
        user = User(email="due@example.com", name="Due", password_hash="x")
        session.add(user)
        await session.flush()
        row = Notification(user_id=user.id, type="t", title="waiting", **when)
        session.add(row)
        await session.commit()
        return user.id, row.id


@pytest.mark.parametrize("scheduled", [False, True], ids=["nothing-stored", "not-yet-due"])
async def test_a_tick_with_nothing_due_writes_nothing(tmp_path: Path, scheduled: bool) -> None:
    db, service, realtime = await _service(tmp_path)
    try:
        if scheduled:
            await _store(db, deliver_at=utcnow() + timedelta(hours=1), delivered_at=None)
        assert await service.deliver_due() == 0
        assert db.writes == 0
        assert realtime.sent == []
    finally:
        await db.dispose()


async def test_a_due_row_is_claimed_counted_and_pushed_once(tmp_path: Path) -> None:
    db, service, realtime = await _service(tmp_path)
    try:
        user_id, nid = await _store(
            db, deliver_at=utcnow() - timedelta(seconds=1), delivered_at=None
        )
        assert await service.deliver_due() == 1
        assert db.writes == 1
        events = [(room, event) for room, event, _data in realtime.sent]
        assert events == [
            (f"user:{user_id}", "notification"),
            (f"user:{user_id}", "notification:unread_count"),
        ]
        assert realtime.sent[1][2] == {"count": 1}
        async with db.session() as session:
            delivered = await session.scalar(
                select(Notification.delivered_at).where(Notification.id == nid)
            )
        assert delivered is not None
        # Claimed: the next tick finds nothing and takes no write lock.
        assert await service.deliver_due() == 0
        assert db.writes == 1
    finally:
        await db.dispose()


async def test_retention_prunes_only_old_read_rows_a_chunk_per_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "PRUNE_CHUNK", 10)
    db, service, _realtime = await _service(tmp_path)
    now, old = utcnow(), utcnow() - timedelta(days=31)
    try:
        async with db.session() as session:
            user = User(email="old@example.com", name="Old", password_hash="x")
            session.add(user)
            await session.flush()

            def rows(n: int, title: str, created: datetime, read: datetime | None) -> None:
                session.add_all(
                    Notification(
                        user_id=user.id,
                        type="t",
                        title=title,
                        created_at=created,
                        delivered_at=created,
                        read_at=read,
                    )
                    for _ in range(n)
                )

            rows(25, "old and read", old, now)
            rows(3, "old, never read", old, None)
            rows(4, "read, recent", now - timedelta(days=29), now)
            await session.commit()

        assert await service.prune_read(30) == 25
        assert db.writes == 3  # 10 + 10 + 5: the write lock is let go between chunks
        async with db.session() as session:
            left = Counter(await session.scalars(select(Notification.title)))
        assert left == {"old, never read": 3, "read, recent": 4}
        assert await service.prune_read(30) == 0
    finally:
        await db.dispose()
