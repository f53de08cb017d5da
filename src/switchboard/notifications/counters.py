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
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    bindparam,
    case,
    cast,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from switchboard.storage.json_lists import in_json_list, json_list, json_members, json_object
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
    # One JSON parameter, whatever the number of users (storage/json_lists.py).
    params = {"deltas": json_object(deltas)}
    return {uid: count for uid, count in conn.execute(_upsert(conn.dialect.name), params)}


@cache
def _upsert(dialect: str) -> Any:
    """`INSERT … SELECT` from the JSON object `{user_id: delta}`, adding on conflict."""
    each = json_members("deltas")
    user_id = cast(each.c.key, BigInteger)
    # `WHERE true`: SQLite reads an `ON` after a bare `INSERT … SELECT … FROM` as a join's.
    source = select(user_id, cast(each.c.value, Integer)).where(true()).order_by(user_id)
    rows = (sqlite_insert(_U) if dialect == "sqlite" else pg_insert(_U)).from_select(
        [_U.user_id, _U.count], source
    )
    return rows.on_conflict_do_update(
        index_elements=[_U.user_id], set_={"count": _U.count + rows.excluded.count}
    ).returning(_U.user_id, _U.count)


# Built once: building it per call cost more CPU than running it.
_SUBTRACT = (
    update(_U)
    .where(_U.user_id == bindparam("of_user"))
    .values(count=case((_U.count > bindparam("n"), _U.count - bindparam("n")), else_=0))
    .returning(_U.count)
)


def subtract_unread(conn: Connection, user_id: UserId, n: int) -> int:
    """Take `n` off one user's count (never below 0); the new count."""
    if n <= 0:
        return read_unread(conn, [user_id]).get(user_id, 0)
    return int(conn.scalar(_SUBTRACT, {"of_user": user_id, "n": n}) or 0)


# Built once (a connect storm runs it per batch): one JSON list serves every size.
_READ = select(_U.user_id, _U.count).where(in_json_list(_U.user_id, "user_ids"))


def read_unread(conn: Connection, user_ids: Iterable[UserId]) -> dict[UserId, int]:
    """The counts of these users (0 for a user without a row), one primary-key lookup each."""
    ids = set(user_ids)
    if not ids:
        return {}
    counts: dict[UserId, int] = dict.fromkeys(ids, 0)
    rows = conn.execute(_READ, {"user_ids": json_list(ids)})
    counts.update((uid, count) for uid, count in rows)
    return counts
