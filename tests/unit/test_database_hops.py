"""Receipts, history pages, membership checks and notification reads: one database hop each.

Through an ORM session each statement was its own hand-off to the database
thread, and a read receipt cost 5–8 ms of CPU; as one `run_write` it costs a
fraction of a millisecond. A change that puts a session back on these paths
fails here. Runs the real app in-process on a SQLite file, counting the calls
that reach the database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from switchboard.errors import ForbiddenError, NotFoundError
from switchboard.notifications.schemas import NotifyIn
from switchboard.storage.database import Database
from switchboard.storage.models import format_id
from tests.support.inprocess import app_context, register


def _from_the_scheduler() -> bool:
    """Whether the notification scheduler's loop is the caller: its poll for due rows
    (every second) is not the path under test, and landed in a counted window once."""
    task = asyncio.current_task()
    coro = task.get_coro() if task is not None else None
    return getattr(coro, "__qualname__", "") == "NotificationScheduler._run"


def _count(db: Database, calls: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("session", "write_session", "run_read", "run_write"):
        real: Callable[..., Any] = getattr(db, name)

        def counted(*args: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            if not _from_the_scheduler():
                calls[_name] += 1
            return _real(*args)

        monkeypatch.setattr(db, name, counted)


async def test_receipts_pages_and_checks_take_one_hop_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app_context(tmp_path) as ctx:
        ada, bob, eve = await register(ctx, "ada", "bob", "eve")
        conv = await ctx.chat.create_conversation(ada.id, [bob.id], None)
        message = await ctx.chat.send_message(ada.id, conv.id, "hello", None)
        calls: Counter[str] = Counter()
        _count(ctx.db, calls, monkeypatch)

        # Bob's membership is not remembered yet: checked in the receipt's own write.
        assert await ctx.chat.mark_read(bob.id, conv.id, message.id)
        assert calls == {"run_write": 1}
        calls.clear()
        # Remembered now: the page and the marks are one read each, the check none.
        page = await ctx.chat.history(bob.id, conv.id, None, 10)
        assert [m.body for m in page] == ["hello"]
        marks = await ctx.chat.read_marks(bob.id, conv.id)
        assert {(m.user_id, m.message_id) for m in marks} == {(ada.id, None), (bob.id, message.id)}
        await ctx.chat.require_member(bob.id, conv.id)
        assert calls == {"run_read": 2}
        calls.clear()
        (listed,) = await ctx.chat.list_conversations(bob.id)
        assert (listed.id, listed.unread_count, listed.last_message) == (conv.id, 0, message)
        assert calls == {"run_read": 1}
        calls.clear()
        # Moving the mark to where it is already: no move, still one write.
        assert not await ctx.chat.mark_read(bob.id, conv.id, message.id)
        assert calls == {"run_write": 1}

        # Outsiders and unknown conversations are refused in their one hop.
        with pytest.raises(ForbiddenError):
            await ctx.chat.mark_read(eve.id, conv.id, message.id)
        with pytest.raises(NotFoundError):
            await ctx.chat.history(eve.id, conv.id + 1000, None, 10)
        with pytest.raises(NotFoundError):  # a message of no conversation of Bob's
            await ctx.chat.mark_read(bob.id, conv.id, "9" * 16)


async def test_receipts_that_arrive_together_share_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app_context(tmp_path) as ctx:
        ada, bob, eve = await register(ctx, "ada", "bob", "eve")
        conv = await ctx.chat.create_conversation(ada.id, [bob.id], None)
        other = await ctx.chat.create_conversation(ada.id, [eve.id], None)
        m1, m2, m3 = [await ctx.chat.send_message(ada.id, conv.id, b, None) for b in "abc"]
        elsewhere = await ctx.chat.send_message(ada.id, other.id, "d", None)
        calls: Counter[str] = Counter()
        _count(ctx.db, calls, monkeypatch)

        outcomes = await asyncio.gather(
            ctx.chat.mark_read(bob.id, conv.id, m2.id),
            ctx.chat.mark_read(bob.id, conv.id, m3.id),
            ctx.chat.mark_read(bob.id, conv.id, m1.id),
            ctx.chat.mark_read(ada.id, conv.id, m3.id),
            ctx.chat.mark_read(eve.id, conv.id, m1.id),  # not a member
            ctx.chat.mark_read(bob.id, conv.id, elsewhere.id),  # not this conversation's
            return_exceptions=True,
        )
        assert calls == {"run_write": 1}
        # Of Bob's three, only the latest moves his mark (and is announced).
        assert outcomes[:4] == [False, True, False, True]
        assert isinstance(outcomes[4], ForbiddenError)
        assert isinstance(outcomes[5], NotFoundError)
        marks = {m.user_id: m.message_id for m in await ctx.chat.read_marks(bob.id, conv.id)}
        assert marks == {ada.id: m3.id, bob.id: m3.id}
        # Never backwards: an older receipt later changes nothing.
        assert not await ctx.chat.mark_read(bob.id, conv.id, m1.id)


async def test_notification_reads_and_marks_take_one_hop_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app_context(tmp_path) as ctx:
        ada, bob = await register(ctx, "ada", "bob")
        results = await ctx.notifications.notify(
            NotifyIn(user_ids=[ada.id, bob.id], type="t", title="hello")
        )
        assert [r.error for r in results] == [None, None]
        calls: Counter[str] = Counter()
        _count(ctx.db, calls, monkeypatch)

        rows = await ctx.notifications.recent(ada.id)
        assert [r.title for r in rows] == ["hello"]
        assert calls == {"run_read": 1}
        calls.clear()
        row, count = await ctx.notifications.mark_read(ada.id, format_id(rows[0].id))
        assert (row.read_at is not None, count) == (True, 0)
        assert calls == {"run_write": 1}
        calls.clear()
        assert await ctx.notifications.mark_all_read(bob.id) == 0
        assert calls == {"run_write": 1}
        with pytest.raises(NotFoundError):  # somebody else's
            await ctx.notifications.mark_read(bob.id, format_id(rows[0].id))
