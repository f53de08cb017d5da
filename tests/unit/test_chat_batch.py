"""One chat batch in one transaction: every send gets its own row's id, whatever the batch holds.

The batch insert is one multi-row INSERT whose ids are matched to the sends
by order (chat/writer.py); a mismatch would ack one sender with another's
message. Runs the writer's transaction on a real SQLite file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, select

from switchboard.chat.writer import Send, _store
from switchboard.errors import ForbiddenError, NotFoundError
from switchboard.storage.database import Database
from switchboard.storage.models import Conversation, ConversationMember, Message, User
from tests.support.database import migrated


async def _database(tmp_path: Path) -> tuple[Database, list[int], list[int]]:
    db = await migrated(tmp_path)
    async with db.session() as session:
        users = [User(email=f"u{i}@example.com", name=f"U{i}", password_hash="x") for i in range(4)]
        session.add_all(users)
        await session.flush()
        convs = [Conversation(title=f"c{i}", created_by=users[0].id) for i in range(3)]
        session.add_all(convs)
        await session.flush()
        # Users 0-2 are in every conversation; user 3 in none.
        session.add_all(
            ConversationMember(conversation_id=c.id, user_id=u.id) for c in convs for u in users[:3]
        )
        await session.commit()
        return db, [u.id for u in users], [c.id for c in convs]


def _bodies(conn: Connection) -> dict[int, str]:
    return {mid: body for mid, body in conn.execute(select(Message.id, Message.body))}


async def test_each_send_is_acked_with_its_own_row(tmp_path: Path) -> None:
    db, users, convs = await _database(tmp_path)
    loop = asyncio.get_running_loop()
    try:
        batch = [
            Send(users[i % 3], convs[i % 3], f"body {i}", None, loop.create_future())
            for i in range(120)
        ]
        # A retry key twice in one batch, a non-member and an unknown conversation.
        batch.append(Send(users[1], convs[0], "retry", "key-1", loop.create_future()))
        batch.append(Send(users[1], convs[0], "retry again", "key-1", loop.create_future()))
        batch.append(Send(users[3], convs[1], "outsider", None, loop.create_future()))
        batch.append(Send(users[0], 999_999, "nowhere", None, loop.create_future()))
        stored = await db.run_write(lambda conn: _store(conn, batch, set()))
        bodies = await db.run_read(_bodies)

        assert len(stored.new) == 121
        assert [m.id for m in stored.new] == sorted(m.id for m in stored.new)
        for send, message, created in stored.results[:121]:
            assert message is not None
            assert created
            assert bodies[int(message.id)] == send.body == message.body
            assert (message.sender_id, message.conversation_id) == (
                send.sender_id,
                send.conversation_id,
            )
        retry, again, outsider, nowhere = stored.results[120:]
        assert retry[1] is not None
        assert again[1] == retry[1]
        assert again[2] is False
        assert outsider[1] is None
        assert nowhere[1] is None
        assert isinstance(stored.refused[convs[1]], ForbiddenError)
        assert isinstance(stored.refused[999_999], NotFoundError)

        # The same retry key in a later batch finds the stored copy instead of inserting.
        later = [Send(users[1], convs[0], "late retry", "key-1", loop.create_future())]
        again_stored = await db.run_write(lambda conn: _store(conn, later, set()))
        assert again_stored.new == []
        assert again_stored.results[0][1] == retry[1]
    finally:
        await db.dispose()


async def test_a_retry_key_of_any_text_finds_its_stored_copy(tmp_path: Path) -> None:
    # Retry keys are matched in SQL: quotes, backslashes, non-ASCII and astral
    # characters must match exactly what was stored.
    db, users, convs = await _database(tmp_path)
    loop = asyncio.get_running_loop()
    keys = ['say "hi"', "back\\slash", "naïve", "😀 astral", "中文"]
    try:
        first = [Send(users[0], convs[0], k, k, loop.create_future()) for k in keys]
        stored = await db.run_write(lambda conn: _store(conn, first, set()))
        ids = [message.id for _send, message, _created in stored.results if message]
        assert len(ids) == len(keys)

        retries = [Send(users[0], convs[0], "again", k, loop.create_future()) for k in keys]
        again = await db.run_write(lambda conn: _store(conn, retries, set()))
        assert again.new == []
        assert [m.id for _s, m, created in again.results if m and not created] == ids
    finally:
        await db.dispose()


async def test_retries_beyond_one_lookup_statement_find_their_own_copies(tmp_path: Path) -> None:
    # 150 retry keys take three lookup statements (64, 64 and 22 keys padded to 32).
    # The same key text from another sender, or in another conversation, is not a retry.
    db, users, convs = await _database(tmp_path)
    loop = asyncio.get_running_loop()

    def sends(body: str) -> list[Send]:
        return [
            Send(users[i % 3], convs[i % 2], body, f"key-{i}", loop.create_future())
            for i in range(150)
        ]

    try:
        first = await db.run_write(lambda conn: _store(conn, sends("first"), set()))
        assert len(first.new) == 150
        retried = await db.run_write(lambda conn: _store(conn, sends("retry"), set()))
        assert retried.new == []
        assert [m for _s, m, _c in retried.results] == [m for _s, m, _c in first.results]

        others = [
            Send(users[1], convs[0], "another sender", "key-0", loop.create_future()),
            Send(users[0], convs[2], "another conversation", "key-0", loop.create_future()),
        ]
        fresh = await db.run_write(lambda conn: _store(conn, others, set()))
        assert [m.body for m in fresh.new] == ["another sender", "another conversation"]
    finally:
        await db.dispose()
