"""Maintained unread counts (`notification_unread`): the statements that keep them in step.

Each is run inside the transaction that delivers or reads the notifications it
counts, so a count never disagrees with the rows once committed. Changes are
deltas (add what was delivered, subtract what was marked read), never "set to
what I counted", so concurrent writers on other nodes do not overwrite each
other's changes. They take a synchronous `Connection`: the hot paths run them
through `Database.run_write`/`run_read`, an `AsyncSession` through `run_sync`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, bindparam, case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from switchboard.storage.models import NotificationUnread
from switchboard.types import UserId

_U = NotificationUnread


def add_unread(conn: Connection, deltas: Mapping[UserId, int]) -> dict[UserId, int]:
    """Add `deltas` to the users' counts in one UPSERT; the new counts, from its RETURNING.

    Rows go in user-id order so that two nodes adding to overlapping users
    lock the rows in the same order (no deadlock on PostgreSQL).
    """
    if not deltas:
        return {}
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    rows = insert(_U)
    upsert = rows.on_conflict_do_update(
        index_elements=[_U.user_id], set_={"count": _U.count + rows.excluded.count}
    ).returning(_U.user_id, _U.count)
    # Executed with a parameter list: one cached statement that SQLAlchemy sends as
    # a single multi-row UPSERT ("insertmanyvalues"), not one statement per user.
    params = [{"user_id": uid, "count": deltas[uid]} for uid in sorted(deltas)]
    return {uid: count for uid, count in conn.execute(upsert, params)}


def subtract_unread(conn: Connection, user_id: UserId, n: int) -> int:
    """Take `n` off one user's count (never below 0); the new count."""
    if n <= 0:
        return read_unread(conn, [user_id]).get(user_id, 0)
    stmt = (
        update(_U)
        .where(_U.user_id == user_id)
        .values(count=case((_U.count > n, _U.count - n), else_=0))
        .returning(_U.count)
    )
    return int(conn.scalar(stmt) or 0)


# Built once (a connect storm runs it per batch): an expanding IN serves every size.
_READ = select(_U.user_id, _U.count).where(_U.user_id.in_(bindparam("user_ids", expanding=True)))


def read_unread(conn: Connection, user_ids: Iterable[UserId]) -> dict[UserId, int]:
    """The counts of these users (0 for a user without a row), one primary-key lookup each."""
    ids = set(user_ids)
    if not ids:
        return {}
    counts: dict[UserId, int] = dict.fromkeys(ids, 0)
    rows = conn.execute(_READ, {"user_ids": list(ids)})
    counts.update((uid, count) for uid, count in rows)
    return counts
