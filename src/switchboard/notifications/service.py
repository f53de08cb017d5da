"""`NotificationService`: store first, then push; read state; unread counts; delivery of due rows.

Every notification is committed before anything is emitted, so a client that
receives `notification` can always find it again with the HTTP list. A row with
`delivered_at IS NULL` is waiting for delivery (scheduled, or stored by a
process without a running server, such as `switchboard notify`) and is
invisible to lists and counts until the scheduler claims it.

Unread counts are maintained (counters.py), not counted: delivering a row adds
to its user's count and reading subtracts, in the same transaction, so a push
carries the count the write returned and a connect reads one row. A user's
later tabs get the count from memory: every change of a count is pushed as a
`notification:unread_count` entry of the log, and every node forgets the
count it kept for that user when it applies one (`forget_unread_count`).
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Select, bindparam, delete, select, update

from switchboard.errors import NotFoundError
from switchboard.notifications.counters import add_unread, read_unread, subtract_unread
from switchboard.notifications.schemas import (
    NotificationOut,
    NotifyIn,
    NotifyResult,
    StoredNotification,
)
from switchboard.notifications.writer import Delivery, NotificationWriter
from switchboard.realtime.facade import Realtime
from switchboard.storage.cached_loader import CachedLoader
from switchboard.storage.database import Database
from switchboard.storage.loader import BatchLoader
from switchboard.storage.models import Notification, parse_id, utcnow
from switchboard.types import NOTIFICATIONS, Broadcast, Room, Sid, UserId, user_of_room, user_room

log = logging.getLogger("switchboard.notifications")

NOTIFICATION_EVENT = "notification"
UNREAD_COUNT_EVENT = "notification:unread_count"

_VISIBLE = Notification.delivered_at.is_not(None)
_UNREAD = Notification.read_at.is_(None)
# What `NotificationOut.of` reads.
_COLUMNS = (
    Notification.id,
    Notification.type,
    Notification.title,
    Notification.body,
    Notification.data,
    Notification.created_at,
    Notification.read_at,
)
# Built once: building a statement per call cost more CPU than running it.
_MINE = (Notification.id == bindparam("nid"), Notification.user_id == bindparam("of_user"))
_ONE = select(*_COLUMNS).where(*_MINE, _VISIBLE)
_MARK_ONE = update(Notification).where(*_MINE, _VISIBLE, _UNREAD).values(read_at=bindparam("at"))
_MARK_ALL = (
    update(Notification)
    .where(Notification.user_id == bindparam("of_user"), _UNREAD, _VISIBLE)
    .values(read_at=bindparam("at"))
)


@functools.cache
def _recent_statement(unread_only: bool, paged: bool) -> Select[*tuple[Any, ...]]:
    """A page of one user's delivered notifications, newest first: four shapes, built once."""
    stmt = (
        select(*_COLUMNS)
        .where(Notification.user_id == bindparam("of_user"), _VISIBLE)
        .order_by(Notification.id.desc())
        .limit(bindparam("page_size"))
    )
    if unread_only:
        stmt = stmt.where(_UNREAD)
    if paged:
        stmt = stmt.where(Notification.id < bindparam("before_id"))
    return stmt


# How many read notifications one retention transaction deletes at most.
PRUNE_CHUNK = 2000


def expired_read_ids(cutoff: datetime) -> Select[int]:
    """The oldest read notifications created before `cutoff`, at most PRUNE_CHUNK of them.

    Served by the partial index of read rows by creation time: no table scan.
    """
    return (
        select(Notification.id)
        .where(Notification.read_at.is_not(None), Notification.created_at < cutoff)
        .order_by(Notification.created_at)
        .limit(PRUNE_CHUNK)
    )


class NotificationService:
    """One per app (and one per CLI run): every notification goes through here."""

    def __init__(self, db: Database, realtime: Realtime) -> None:
        self.db = db
        self.realtime = realtime
        self.writer = NotificationWriter(db, self._push)
        # Every /notifications connect asks for a count: a burst shares one query,
        # and a user's later tabs are answered from memory (see the module's doc).
        self._unread: BatchLoader[UserId, int] = BatchLoader(self.unread_counts, 0)
        self._unread_on_connect: CachedLoader[UserId, int] = CachedLoader(
            self._unread, lambda: realtime.started
        )

    # -- creating ----------------------------------------------------------------------

    async def notify(self, request: NotifyIn) -> list[NotifyResult]:
        """Store one notification per distinct existing user, then push the due ones.

        Requests that arrive together share one transaction (writer.py), each
        request one INSERT. A notification is pushed at once only when it is
        due and this process runs the server; otherwise it is stored
        undelivered and the scheduler of a running server delivers it (exactly
        once, even with several nodes).
        """
        due = request.deliver_at is None or request.deliver_at <= utcnow()
        return await self.writer.write(request, push=due and self.realtime.started)

    # -- reading -----------------------------------------------------------------------

    async def unread_count(self, user_id: UserId) -> int:
        """Delivered, unread notifications of one user (batched with others' in one query)."""
        return await self._unread.load(user_id)

    async def unread_count_on_connect(self, user_id: UserId) -> int:
        """`unread_count`, or the count remembered since the user's last change: a
        socket's first count (a change in flight reaches it as an event right after)."""
        return await self._unread_on_connect.load(user_id)

    def forget_unread_count(self, namespace: str, rooms: list[Room] | None) -> None:
        """A `notification:unread_count` entry of any node (RealtimeServer.on_logged_event):
        the users it went to have a new count, which only the database knows in order."""
        if namespace != NOTIFICATIONS or rooms is None:
            return
        for room in rooms:
            user_id = user_of_room(room)
            if user_id is not None:
                self._unread_on_connect.invalidate(user_id)

    async def unread_counts(self, user_ids: Iterable[UserId]) -> dict[UserId, int]:
        ids = list(user_ids)
        # A connect storm's counts: one primary-key lookup per batch of users.
        return await self.db.run_read(lambda conn: read_unread(conn, ids))

    async def recent(
        self,
        user_id: UserId,
        *,
        unread_only: bool = False,
        limit: int = 50,
        before: int | None = None,
    ) -> list[StoredNotification]:
        """The user's delivered notifications, newest first (`before` pages back by id)."""
        stmt = _recent_statement(unread_only, before is not None)
        params = {"of_user": user_id, "page_size": limit, "before_id": before}
        # One hand-off to the database (an ORM session took one per statement).
        rows = await self.db.run_read(lambda conn: list(conn.execute(stmt, params)))
        return cast(list[StoredNotification], rows)

    # -- read state --------------------------------------------------------------------

    async def mark_read(self, user_id: UserId, public_id: str) -> tuple[StoredNotification, int]:
        """Mark one of the user's notifications read (idempotent); the new unread count.

        Another user's id, an undelivered one and a malformed one all answer
        not_found alike, so nobody learns that a notification exists.
        """
        nid = parse_id(public_id)
        if nid is None:
            raise NotFoundError("notification not found")
        ids = {"nid": nid, "of_user": user_id}

        def mark(conn: Connection) -> tuple[StoredNotification | None, int]:
            marked = conn.execute(_MARK_ONE, {**ids, "at": utcnow()})
            count = subtract_unread(conn, user_id, marked.rowcount)
            row = conn.execute(_ONE, ids).first()
            return cast(StoredNotification | None, row), count

        row, count = await self.db.run_write(mark)
        if row is None:
            raise NotFoundError("notification not found")
        return row, count

    async def mark_all_read(self, user_id: UserId) -> int:
        """Mark every delivered notification of the user read; the new unread count.

        The count drops by the rows this call marked (not to 0): a notification
        delivered by another node meanwhile stays counted.
        """

        def mark_all(conn: Connection) -> int:
            marked = conn.execute(_MARK_ALL, {"of_user": user_id, "at": utcnow()})
            return subtract_unread(conn, user_id, marked.rowcount)

        return await self.db.run_write(mark_all)

    async def push_unread_count(
        self, user_id: UserId, count: int, *, skip_sid: Sid | None = None
    ) -> None:
        """Tell the user's sockets (all, or all but the one that asked) the new count."""
        if not self.realtime.started:
            return
        room, event, data = _unread_count(user_id, count)
        await self.realtime.to_room(room, event, data, namespace=NOTIFICATIONS, skip_sid=skip_sid)

    # -- scheduled delivery and housekeeping (driven by scheduler.py) -------------------

    async def deliver_due(self, *, batch: int = 500) -> int:
        """Claim due, undelivered rows atomically, then push them; how many were claimed.

        The claim is one UPDATE ... RETURNING, the first statement of its own
        transaction: on SQLite it takes the write lock before reading, on
        PostgreSQL the sub-select skips rows another node has locked and the
        outer `delivered_at IS NULL` re-check drops rows it already claimed. So
        with any number of nodes on one database, each row is delivered once.

        A read asks first whether anything is due: a tick with nothing to do
        (nearly every tick) then takes no write lock, so on SQLite it never
        holds up this process's chat and notification writers.
        """
        now = utcnow()
        if not await self.db.run_read(lambda conn: _anything_due(conn, now)):
            return 0
        due = (
            _due_ids(now)
            .order_by(Notification.deliver_at, Notification.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(Notification)
            .where(Notification.id.in_(due.scalar_subquery()), Notification.delivered_at.is_(None))
            .values(delivered_at=now)
            .returning(Notification)
            .execution_options(synchronize_session=False)
        )
        async with self.db.write_session() as session:
            rows = list(await session.scalars(claim))
            deltas = Counter(row.user_id for row in rows)
            counts = await session.run_sync(lambda s: add_unread(s.connection(), deltas))
            await session.commit()
        if rows:
            rows.sort(key=lambda r: r.id)
            deliveries = [
                Delivery(row.user_id, NotificationOut.of(row).model_dump()) for row in rows
            ]
            await self._push(deliveries, counts)
        return len(rows)

    async def prune_read(self, retention_days: int) -> int:
        """Delete read notifications created more than `retention_days` ago; how many.

        A chunk at a time, each in its own write transaction behind the
        process's write lock: a backlog (the first run after an upgrade, a
        shorter retention) never holds up sends and deliveries for long.
        """
        cutoff = utcnow() - timedelta(days=retention_days)
        chunk = delete(Notification).where(Notification.id.in_(expired_read_ids(cutoff)))
        pruned = 0
        while True:
            async with self.db.write_session() as session:
                result = await session.execute(chunk.execution_options(synchronize_session=False))
                await session.commit()
            deleted = _rowcount(result)
            pruned += deleted
            if deleted < PRUNE_CHUNK:
                return pruned

    # -- pushing -----------------------------------------------------------------------

    async def _push(self, deliveries: Sequence[Delivery], counts: Mapping[UserId, int]) -> None:
        """Emit each row to its user; right after a user's last row, that user's new count.

        The counts come from the write that stored the rows, so the two events
        leave back to back with no query between them.
        """
        last = {d.user_id: i for i, d in enumerate(deliveries)}
        broadcasts: list[Broadcast] = []
        for i, d in enumerate(deliveries):
            broadcasts.append((user_room(d.user_id), NOTIFICATION_EVENT, d.payload))
            if last[d.user_id] == i:
                broadcasts.append(_unread_count(d.user_id, counts.get(d.user_id, 0)))
        # One append for the batch: one round trip to Redis, not two per recipient.
        await self.realtime.to_rooms(broadcasts, namespace=NOTIFICATIONS)


def _due_ids(now: datetime) -> Select[int]:
    """Rows waiting for delivery whose time has come (the partial index `ix_notifications_due`)."""
    return select(Notification.id).where(
        Notification.delivered_at.is_(None), Notification.deliver_at <= now
    )


def _anything_due(conn: Connection, now: datetime) -> bool:
    return conn.execute(_due_ids(now).limit(1)).first() is not None


def _unread_count(user_id: UserId, count: int) -> Broadcast:
    """The `notification:unread_count` event of one user's sockets."""
    return (user_room(user_id), UNREAD_COUNT_EVENT, {"count": count})


def _rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE changed (every driver we use reports it for both)."""
    return int(getattr(result, "rowcount", 0) or 0)
