"""The scheduler's tick: a read first, and a write transaction only when something is due.

On SQLite the write lock is shared with the chat and notification writers of
the process, so a tick that took it every second for nothing would hold up
sends. Runs `NotificationService.deliver_due` on a real SQLite file; the
realtime side is a recorder (only its `to_rooms` is reached).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
