"""Group commit for notification requests: a few statements per batch, one commit.

Each request (one notification for up to 1000 users) is one SELECT of its
users' rows, with the content bound once and unknown users simply not
selected; requests that share no user go into one `INSERT … SELECT … UNION
ALL … RETURNING user_id, id` (rows.py), so a batch usually costs one INSERT.
The due rows then add to their users' maintained unread counts in one
UPSERT … RETURNING for the whole batch, and the batch commits. Only after the
commit are the pushes handed to `published` (each recipient's rows and its
new count, with no query in between) and the callers answered: nothing is
acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from switchboard.notifications.counters import add_unread
from switchboard.notifications.rows import branch_params, insert_statement, pack
from switchboard.notifications.schemas import NotificationOut, NotifyIn, NotifyResult, iso
from switchboard.storage.database import Database
from switchboard.storage.group_commit import GroupCommit
from switchboard.storage.models import format_id, utcnow
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
        """Store the batch, then push and answer; nothing after the commit may raise.

        GroupCommit retries a batch whose `_commit` raised, so an error after
        the commit would store its notifications twice: it is logged instead.
        """
        now = utcnow()
        stored, counts = await self._store(batch, now)
        try:
            deliveries: list[Delivery] = []
            for job, ids in zip(batch, stored, strict=True):
                if job.push and ids:
                    base = _payload_base(job.request, now)  # once per request
                    for uid, nid in sorted(ids.items(), key=lambda item: item[1]):
                        deliveries.append(Delivery(uid, {**base, "id": format_id(nid)}))
            if deliveries:
                await self.published(deliveries, counts)
        except Exception:
            # Stored and listed all the same: a failed push is not a failed write.
            log.exception("pushing a batch of %d requests failed", len(batch))
        _answer(batch, stored)

    async def _store(
        self, batch: list[NotifyJob], now: datetime
    ) -> tuple[list[dict[UserId, int]], dict[UserId, int]]:
        """One transaction: every request's rows and the due ones' counts; (ids, counts)."""
        # One transaction for the batch (Database.run_write).
        return await self.db.run_write(lambda conn: _store_batch(conn, batch, now))


def _store_batch(
    conn: Connection, batch: list[NotifyJob], now: datetime
) -> tuple[list[dict[UserId, int]], dict[UserId, int]]:
    stored: list[dict[UserId, int]] = [{} for _ in batch]
    for group in pack([job.user_ids for job in batch]):
        params: dict[str, Any] = {}
        owner: dict[UserId, int] = {}  # user -> its request (unique in a group)
        for i, b in enumerate(group):
            params.update(_params(i, batch[b], now))
            owner.update(dict.fromkeys(batch[b].user_ids, b))
        for uid, nid in conn.execute(insert_statement(len(group)), params):
            stored[owner[uid]][uid] = nid
    delivered = Counter(
        uid for job, ids in zip(batch, stored, strict=True) if job.push for uid in ids
    )
    return stored, add_unread(conn, delivered)


def _params(i: int, job: NotifyJob, now: datetime) -> dict[str, Any]:
    req = job.request
    return branch_params(
        i,
        (req.type, req.title, req.body, req.data),
        job.user_ids,
        created_at=now,
        deliver_at=req.deliver_at or now,
        delivered_at=now if job.push else None,
    )


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
