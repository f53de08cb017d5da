"""The hot and per-request queries cost what they return, not the size of the history.

Each statement's SQLite plan is read with EXPLAIN QUERY PLAN on a migrated
database: a lookup that could only use the first column of an index walks
every message a conversation ever had, which no functional test notices until
a conversation is large.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection

from switchboard.chat.queries import NEWEST_MESSAGES, UNREAD_COUNTS
from switchboard.chat.writer import _earlier_statement
from switchboard.notifications.service import expired_read_ids
from switchboard.storage.database import Database
from switchboard.storage.models import utcnow
from tests.support.database import migrated, query_plan


async def _plan_of(tmp_path: Path, read: Callable[[Connection], list[str]]) -> list[str]:
    db: Database = await migrated(tmp_path)
    try:
        return await db.run_read(read)
    finally:
        await db.dispose()


async def test_the_retry_lookup_probes_the_unique_index_once_per_key(tmp_path: Path) -> None:
    def plan(conn: Connection) -> list[str]:
        keys: dict[str, object] = {f"{column}{i}": 1 for i in range(4) for column in "cs"}
        keys.update({f"k{i}": f"key-{i}" for i in range(4)})
        return query_plan(conn, _earlier_statement(4), keys)

    details = await _plan_of(tmp_path, plan)
    searches = [d for d in details if d.startswith("SEARCH")]
    assert len(searches) == 4, details
    assert all("conversation_id=? AND sender_id=? AND client_msg_id=?" in d for d in searches)
    assert not [d for d in details if d.startswith("SCAN")], details


async def test_unread_counts_seek_past_the_last_read_message(tmp_path: Path) -> None:
    details = await _plan_of(tmp_path, lambda conn: query_plan(conn, UNREAD_COUNTS, {"user_id": 7}))
    # A range on (conversation, id) from the member's last read message onwards.
    assert any("messages" in d and "(conversation_id=? AND id>?)" in d for d in details), details
    assert not [d for d in details if d.startswith("SCAN")], details


async def test_the_newest_message_is_one_lookup_per_conversation(tmp_path: Path) -> None:
    details = await _plan_of(
        tmp_path,
        lambda conn: query_plan(conn, NEWEST_MESSAGES, {"user_id": 7}),
    )
    # max(id) of one conversation, correlated: one index step each (a GROUP BY max
    # over all the member's conversations walks every entry instead).
    assert "CORRELATED SCALAR SUBQUERY 1" in details, details
    assert not [d for d in details if d.startswith("SCAN") or "GROUP BY" in d], details


async def test_retention_finds_old_read_notifications_through_its_index(tmp_path: Path) -> None:
    details = await _plan_of(
        tmp_path, lambda conn: query_plan(conn, expired_read_ids(utcnow()), {})
    )
    assert any("ix_notifications_read_created" in d for d in details), details
    assert not [d for d in details if d.startswith("SCAN")], details
