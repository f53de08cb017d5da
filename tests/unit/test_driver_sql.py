"""The SQLite driver-connection INSERT stores what SQLAlchemy's own INSERT stores, on a real file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from switchboard.storage.driver_sql import DriverInsert
from switchboard.storage.models import Conversation, Message, User
from tests.support.database import migrated

_table = Message.metadata.tables[Message.__tablename__]
_COLUMNS = ("conversation_id", "sender_id", "body", "client_msg_id", "created_at")
AT = datetime(2026, 12, 1, 17, 6, 58, 987919, tzinfo=UTC)
WHOLE_SECOND = datetime(2026, 12, 1, 17, 6, 59, tzinfo=UTC)


def _conversation(conn: Connection) -> tuple[int, int]:
    uid = conn.execute(
        insert(User).values(email="a@example.com", name="A", password_hash="x").returning(User.id)
    ).scalar_one()
    cid = conn.execute(
        insert(Conversation).values(title="t", created_by=uid).returning(Conversation.id)
    ).scalar_one()
    return uid, cid


async def test_rows_read_back_as_sqlalchemy_wrote_them(tmp_path: Path) -> None:
    db = await migrated(tmp_path)
    driver = DriverInsert(_table, _COLUMNS, "id")

    def work(conn: Connection) -> tuple[list[int], int, list[tuple[str, str]]]:
        uid, cid = _conversation(conn)
        ids = driver.run(
            conn,
            [(cid, uid, "first", None, AT), (cid, uid, "second 'quoted'", "key-1", AT)],
        )
        reference = conn.execute(
            insert(Message)
            .values(conversation_id=cid, sender_id=uid, body="orm", created_at=AT)
            .returning(Message.id)
        ).scalar_one()
        stored = [
            (str(body), str(created))
            for body, created in conn.execute(text("SELECT body, created_at FROM messages"))
        ]
        return ids, reference, stored

    try:
        ids, reference, stored = await db.run_write(work)
        assert len(ids) == 2
        assert sorted(ids) == ids
        assert reference > ids[-1]
        # The same stored text for the timestamp as SQLAlchemy's own column type writes.
        assert {created for _body, created in stored} == {stored[-1][1]}
        columns = select(Message.body, Message.client_msg_id, Message.created_at)
        rows = await db.run_read(lambda conn: conn.execute(columns.order_by(Message.id)).all())
        assert [tuple(row) for row in rows] == [
            ("first", None, AT),
            ("second 'quoted'", "key-1", AT),
            ("orm", None, AT),
        ]
    finally:
        await db.dispose()


@pytest.mark.parametrize("at", [AT, WHOLE_SECOND])
async def test_the_timestamp_is_stored_as_sqlalchemy_stores_it(
    tmp_path: Path, at: datetime
) -> None:
    """Byte for byte: SQL compares these as text, so `…:59` and `…:59.000000` would differ."""
    db = await migrated(tmp_path)
    driver = DriverInsert(_table, _COLUMNS, "id")

    def work(conn: Connection) -> list[str]:
        uid, cid = _conversation(conn)
        driver.run(conn, [(cid, uid, "driver", None, at), (cid, uid, "driver", None, at)])
        conn.execute(
            insert(Message).values(conversation_id=cid, sender_id=uid, body="core", created_at=at)
        )
        query = text("SELECT created_at FROM messages ORDER BY id")
        return [str(created) for (created,) in conn.execute(query)]

    try:
        driver_text, again, core_text = await db.run_write(work)
        assert driver_text == again == core_text
    finally:
        await db.dispose()


async def test_a_driver_error_is_sqlalchemys_integrity_error(tmp_path: Path) -> None:
    db = await migrated(tmp_path)
    driver = DriverInsert(_table, _COLUMNS, "id")
    try:
        with pytest.raises(IntegrityError):  # no such conversation (foreign keys are on)
            await db.run_write(lambda conn: driver.run(conn, [(999, 999, "x", None, AT)]))
        assert await db.run_read(lambda conn: conn.execute(select(Message.id)).all()) == []
    finally:
        await db.dispose()
