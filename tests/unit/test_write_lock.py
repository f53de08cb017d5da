"""On SQLite every write of the process queues behind its one write lock.

A write outside it (an ORM session that inserts, updates or deletes) takes
SQLite's own lock while the group commit's writer thread may want it: the
loser waits in SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms between
tries, so sends stall behind a registration or a logout. This test runs each
kind of write the app makes through sessions and fails on any statement that
writes while the lock is free.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.support.inprocess import app_context, register

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


async def test_session_writes_hold_the_process_write_lock(tmp_path: Path) -> None:
    async with app_context(tmp_path) as ctx:
        db = ctx.db
        unlocked: list[str] = []

        def check(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith(_WRITES) and not db.write_locked():
                unlocked.append(" ".join(statement.split())[:120])

        revocations = ctx.tokens.revocations
        assert revocations is not None
        event.listen(db.engine.sync_engine, "before_cursor_execute", check)
        ada, bob = await register(ctx, "ada", "bob")
        conv = await ctx.chat.create_conversation(ada.id, [bob.id], None)
        await ctx.chat.rename_conversation(ada.id, conv.id, "plans")
        message = await ctx.chat.send_message(ada.id, conv.id, "hello", None)
        await ctx.chat.mark_read(bob.id, conv.id, message.id)
        await ctx.chat.leave_conversation(bob.id, conv.id)
        await revocations.revoke_token(ada.id, "jti-1", time.time() + 60)
        await revocations.revoke_all(bob.id)
        await revocations.sync()
        event.remove(db.engine.sync_engine, "before_cursor_execute", check)
        assert unlocked == []
