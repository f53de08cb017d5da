"""The INSERT that stores notification requests: each request's rows come from one SELECT.

One request (one notification for many users) is one
`SELECT users.id, :type, :title, … FROM users WHERE users.id IN (:user_ids)`:
the content is bound once and an unknown user is simply not selected.
Requests whose users do not overlap are joined with `UNION ALL` into one
`INSERT … SELECT … RETURNING user_id, id`, so a batch of requests usually
costs one statement. Since no user appears twice in a statement, each
returned `(user_id, id)` belongs to exactly one request whatever order the
database returns rows in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, String, Text, bindparam, insert, select, union_all

from switchboard.storage.json_lists import in_json_list, json_list
from switchboard.storage.models import Notification, User, UTCDateTime
from switchboard.types import UserId

# Requests one statement joins at most (SQLite allows 500 terms in a compound SELECT).
MAX_PER_STATEMENT = 64
_FIELDS: list[tuple[str, Any]] = [
    ("type", String()),
    ("title", String()),
    ("body", Text()),
    ("data", JSON()),
    ("created_at", UTCDateTime()),
    ("deliver_at", UTCDateTime()),
    ("delivered_at", UTCDateTime()),
]


@cache
def insert_statement(requests: int) -> Any:
    """The INSERT for `requests` requests, built once per size (its compilation is cached)."""
    branches = [
        select(User.id, *(bindparam(f"{name}_{i}", type_=type_) for name, type_ in _FIELDS)).where(
            in_json_list(User.id, f"user_ids_{i}")
        )
        for i in range(requests)
    ]
    rows = branches[0] if requests == 1 else union_all(*branches)
    n = Notification
    columns = [n.user_id, n.type, n.title, n.body, n.data, n.created_at, n.deliver_at]
    return insert(n).from_select([*columns, n.delivered_at], rows).returning(n.user_id, n.id)


def branch_params(
    i: int,
    content: tuple[str, str, str, dict[str, Any]],
    user_ids: Sequence[UserId],
    *,
    created_at: datetime,
    deliver_at: datetime,
    delivered_at: datetime | None,
) -> dict[str, Any]:
    """The bind values of request number `i` of a statement."""
    kind, title, body, data = content
    return {
        f"type_{i}": kind,
        f"title_{i}": title,
        f"body_{i}": body,
        f"data_{i}": data,
        f"created_at_{i}": created_at,
        f"deliver_at_{i}": deliver_at,
        f"delivered_at_{i}": delivered_at,
        f"user_ids_{i}": json_list(user_ids),
    }


def pack(user_sets: Sequence[Sequence[UserId]]) -> list[list[int]]:
    """Split requests (in order) into statements whose requests share no user."""
    groups: list[list[int]] = []
    seen: set[UserId] = set()
    for i, users in enumerate(user_sets):
        if not groups or len(groups[-1]) >= MAX_PER_STATEMENT or not seen.isdisjoint(users):
            groups.append([])
            seen = set()
        groups[-1].append(i)
        seen.update(users)
    return groups
