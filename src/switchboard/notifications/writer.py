"""Group commit for notification requests: one statement per request, one commit per batch.

Each request (one notification for up to 1000 users) is one
`INSERT … SELECT … FROM users WHERE id IN (…) RETURNING id, user_id`: the
rows of every existing user in one statement, unknown users simply not
selected, the content bound once. The due ones then add to their users'
maintained unread counts in one UPSERT … RETURNING for the whole batch, and
the batch commits. Only after the commit are the pushes handed to `published`
(each recipient's rows and its new count, with no query in between) and the
callers answered: nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, bindparam, insert, select

from switchboard.notifications.counters import add_unread
from switchboard.notifications.schemas import NotificationOut, NotifyIn, NotifyResult, iso
from switchboard.storage.database import Database
from switchboard.storage.group_commit import GroupCommit
from switchboard.storage.models import Notification, User, UTCDateTime, format_id, utcnow
from switchboard.types import UserId

log = logging.getLogger("switchboard.notifications")

UNKNOWN_USER = "not_found"
# Rows one batch may insert at most: a request has at most 1000 users (NotifyIn).
MAX_BATCH_ROWS = 2000


@dataclass(slots=True)
class NotifyJob:
    request: NotifyIn
    user_ids: list[UserId]  # distinct, in the caller's order
    push: bool  # due now and this process runs the server
    done: asyncio.Future[list[NotifyResult]] = field(repr=False)


@dataclass(slots=True)
class Delivery:
    """One stored row to push: its recipient and the event payload."""

    user_id: UserId
    payload: dict[str, Any]


# After a batch's commit: every row to push (in id order per request) and the
# recipients' new unread counts.
Published = Callable[[list[Delivery], dict[UserId, int]], Awaitable[None]]


class NotificationWriter:
    def __init__(self, db: Database, published: Published) -> None:
        self.db = db
        self.published = published
        self._group: GroupCommit[NotifyJob] = GroupCommit(
            self._commit,
            _fail,
            max_weight=MAX_BATCH_ROWS,
            weight=lambda job: len(job.user_ids),
            name="batch of notification requests",
        )

    async def write(self, request: NotifyIn, *, push: bool) -> list[NotifyResult]:
        """Store `request` (pushing it at once when `push`); one result per distinct user."""
        user_ids = list(dict.fromkeys(request.user_ids))
        job = NotifyJob(request, user_ids, push, asyncio.get_running_loop().create_future())
        self._group.submit(job)
        return await job.done

    async def _commit(self, batch: list[NotifyJob]) -> None:
        now = utcnow()
        stored: list[dict[UserId, int]] = []
        async with self.db.write_session() as session:
            # Core statements on the session's connection: no ORM unit of work to run.
            conn = await session.connection()
            for job in batch:
                rows = await conn.execute(_INSERT, _insert_params(job, now))
                stored.append(dict(rows.tuples().all()))
            delivered = Counter(
                uid for job, ids in zip(batch, stored, strict=True) if job.push for uid in ids
            )
            counts = await add_unread(conn, self.db.dialect, delivered)
            await session.commit()
        deliveries: list[Delivery] = []
        for job, ids in zip(batch, stored, strict=True):
            if job.push and ids:
                base = _payload_base(job.request, now)
                for uid, nid in sorted(ids.items(), key=lambda item: item[1]):
                    deliveries.append(Delivery(uid, {**base, "id": format_id(nid)}))
        if deliveries:
            try:
                await self.published(deliveries, counts)
            except Exception:
                # Stored and listed all the same: a failed push is not a failed write
                # (and must not reach GroupCommit, which would store the batch again).
                log.exception("pushing a batch of %d notifications failed", len(deliveries))
        _answer(batch, stored)


def _insert_statement() -> Any:
    """`INSERT … SELECT` of one request's rows, built once (its compiled form is cached)."""
    n = Notification
    rows = select(
        User.id,
        bindparam("type", type_=String()),
        bindparam("title", type_=String()),
        bindparam("body", type_=Text()),
        bindparam("data", type_=JSON()),
        bindparam("created_at", type_=UTCDateTime()),
        bindparam("deliver_at", type_=UTCDateTime()),
        bindparam("delivered_at", type_=UTCDateTime()),
    ).where(User.id.in_(bindparam("user_ids", expanding=True)))
    columns = [n.user_id, n.type, n.title, n.body, n.data, n.created_at, n.deliver_at]
    return insert(n).from_select([*columns, n.delivered_at], rows).returning(n.user_id, n.id)


_INSERT = _insert_statement()


def _insert_params(job: NotifyJob, now: datetime) -> dict[str, Any]:
    req = job.request
    return {
        "type": req.type,
        "title": req.title,
        "body": req.body,
        "data": req.data,
        "created_at": now,
        "deliver_at": req.deliver_at or now,
        "delivered_at": now if job.push else None,
        "user_ids": job.user_ids,
    }


def _payload_base(request: NotifyIn, now: datetime) -> dict[str, Any]:
    """The `notification` event of a request but for its id (the same for every recipient)."""
    return NotificationOut(
        id="",
        type=request.type,
        title=request.title,
        body=request.body,
        data=request.data,
        created_at=iso(now) or "",
        read_at=None,
    ).model_dump()


def _answer(batch: list[NotifyJob], stored: list[dict[UserId, int]]) -> None:
    for job, ids in zip(batch, stored, strict=True):
        if job.done.done():
            continue
        job.done.set_result(
            [
                NotifyResult(user_id=uid, id=format_id(ids[uid]), error=None)
                if uid in ids
                else NotifyResult(user_id=uid, id=None, error=UNKNOWN_USER)
                for uid in job.user_ids
            ]
        )


def _fail(job: NotifyJob, exc: BaseException) -> None:
    if not job.done.done():
        job.done.set_exception(exc)
