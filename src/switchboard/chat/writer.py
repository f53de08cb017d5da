"""Group commit for chat messages: sends that arrive while a transaction runs share the next.

One transaction checks membership (of senders not already known to be
members, membership.py), finds earlier copies of retried
`client_msg_id`s and inserts every new message, for a whole batch: a busy
conversation costs one commit per batch instead of one per message (a
conversation's activity time is its newest message's, read where conversations
are listed, so a send writes no conversation row). Nothing is answered before its commit.
After the commit the batch's `message:new` broadcasts leave in id order, all
in one event-loop iteration, so the transport writes each recipient once for
the whole batch.

The queueing is `storage.group_commit.GroupCommit`. A batch that fails as a
whole (a `client_msg_id` race lost to another node, a database error) is
retried one message at a time, so one bad send only fails itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Select, and_, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError

from switchboard.chat.membership import MemberCache, Pair
from switchboard.chat.queries import MESSAGE_COLUMNS, confirm_members
from switchboard.chat.schemas import MessageOut
from switchboard.errors import AppError, ForbiddenError, NotFoundError
from switchboard.storage.database import Database
from switchboard.storage.driver_sql import DriverInsert
from switchboard.storage.group_commit import GroupCommit
from switchboard.storage.models import (
    Message,
    format_id,
    utcnow,
)
from switchboard.types import UserId

log = logging.getLogger("switchboard.chat")

# How many sends one transaction takes at most (bounds the statement sizes).
MAX_BATCH = 500


@dataclass(slots=True)
class Send:
    sender_id: UserId
    conversation_id: int
    body: str
    client_msg_id: str | None
    done: asyncio.Future[tuple[MessageOut, bool]] = field(repr=False)


# Runs after a batch's commit, for its new messages in id order (the broadcasts).
Published = Callable[[list[MessageOut]], Awaitable[None]]


class MessageWriter:
    def __init__(self, db: Database, published: Published, members: MemberCache) -> None:
        self.db = db
        self.published = published
        self.members = members
        self._group: GroupCommit[Send] = GroupCommit(
            self._commit, _fail, max_weight=MAX_BATCH, name="batch of sends"
        )

    async def write(
        self, sender_id: UserId, conversation_id: int, body: str, client_msg_id: str | None
    ) -> tuple[MessageOut, bool]:
        """The stored message and whether it is new (False: an earlier copy of a retry)."""
        loop = asyncio.get_running_loop()
        send = Send(sender_id, conversation_id, body, client_msg_id, loop.create_future())
        self._group.submit(send)
        return await send.done

    async def _commit(self, batch: list[Send]) -> None:
        members = self.members
        known = members.known({(s.conversation_id, s.sender_id) for s in batch})
        epoch = members.epoch  # before the transaction reads (MemberCache.remember)
        # One transaction for the batch (see Database.run_write).
        stored = await self.db.run_write(lambda conn: _store(conn, batch, known))
        members.remember(stored.confirmed, epoch)
        # Committed: every sender is answered, then the broadcasts leave (in id order).
        # An answer is a future: its handler acks on the next loop turn, after this
        # publish has queued the broadcasts (in one process) and before the flush it
        # scheduled, so a sender's socket takes its broadcasts and its acks in one write.
        for send, message, created in stored.results:
            if send.done.done():
                continue
            if message is None:
                send.done.set_exception(
                    stored.refused.get(send.conversation_id) or ForbiddenError()
                )
            else:
                send.done.set_result((message, created))
        if stored.new:
            try:
                await self.published(stored.new)
            except Exception:
                log.exception("broadcasting a batch of %d messages failed", len(stored.new))


@dataclass(slots=True)
class Stored:
    """What one batch's transaction decided, per send and in all."""

    # Per send: the stored message (None: refused), and whether it is new.
    results: list[tuple[Send, MessageOut | None, bool]]
    refused: dict[int, AppError]  # conversation id -> why its sends were refused
    new: list[MessageOut]  # the messages this batch inserted, in id order
    confirmed: set[Pair]  # memberships the database confirmed (none were in memory)


# Built once: a statement object that is reused keeps SQLAlchemy's compiled form and
# cache key, where one built per batch cost more CPU than SQLite's own work (the
# membership lookup: queries.confirm_members).
_message_table = Message.metadata.tables[Message.__tablename__]
_messages = _message_table.c
# Earlier copies of retries are looked up one exact (conversation, sender, client id)
# term per key, OR-ed: SQLite ("MULTI-INDEX OR") and PostgreSQL (a bitmap OR) answer
# each term with one probe of the unique index. Matching the conversation and the
# client ids as two IN lists instead walks the conversation's whole index range, one
# step per message it ever had: 40 ms a batch at 200,000 messages, against 50 µs.
# A statement serves up to _EARLIER_TERMS keys; its size is rounded up to a power of
# two (padded by repeating a key), so at most seven shapes are compiled and cached.
_EARLIER_TERMS = 64


@functools.cache
def _earlier_statement(terms: int) -> Select[int, int, int, str, datetime, str | None]:
    return select(*MESSAGE_COLUMNS).where(
        or_(
            *(
                and_(
                    _messages.conversation_id == bindparam(f"c{i}"),
                    _messages.sender_id == bindparam(f"s{i}"),
                    _messages.client_msg_id == bindparam(f"k{i}"),
                )
                for i in range(terms)
            )
        )
    )


# SQLite: one multi-row INSERT on the driver connection (storage/driver_sql.py:
# SQLAlchemy's execution cost several times SQLite's work), its ids sorted: SQLite
# inserts a VALUES list in order under the write lock, each row taking a rowid
# above every existing one, so ascending ids are parameter order.
# PostgreSQL: SQLAlchemy's own ordered form, which is one statement per batch there.
_INSERT_ORDERED = insert(_message_table).returning(_messages.id, sort_by_parameter_order=True)
_COLUMNS = ("conversation_id", "sender_id", "body", "client_msg_id", "created_at")
_SQLITE_INSERT = DriverInsert(_message_table, _COLUMNS, "id")


def _store(conn: Connection, batch: list[Send], known: set[Pair]) -> Stored:
    """Check membership, find earlier copies of retries, insert the rest: one transaction.

    `known` pairs are members already (membership.py); only the others are asked.
    """
    pairs = {(s.conversation_id, s.sender_id) for s in batch}
    members, confirmed, refused = confirm_members(conn, pairs, known)
    earlier = _earlier_copies(conn, batch)
    now = utcnow()
    results: list[tuple[Send, MessageOut | None, bool]] = []
    fresh: dict[tuple[int, int, str], int] = {}  # retry key -> index in `results`
    pending: list[int] = []  # indexes of the sends to insert
    for send in batch:
        if (send.conversation_id, send.sender_id) not in members:
            results.append((send, None, False))
            continue
        key = (
            (send.conversation_id, send.sender_id, send.client_msg_id)
            if send.client_msg_id is not None
            else None
        )
        if key is not None and key in earlier:
            results.append((send, earlier[key], False))
            continue
        if key is not None and key in fresh:  # the same retry twice in one batch
            results.append((send, None, False))  # filled in after the insert
            continue
        if key is not None:
            fresh[key] = len(results)
        pending.append(len(results))
        results.append((send, None, True))
    new: list[MessageOut] = []
    if pending:
        # One INSERT ... RETURNING for the batch (ids in the rows' order).
        values = [
            (s.conversation_id, s.sender_id, s.body, s.client_msg_id, now)
            for s in (results[i][0] for i in pending)
        ]
        ids: list[int]
        if conn.dialect.name == "sqlite":
            ids = sorted(_SQLITE_INSERT.run(conn, values))
        else:
            ids = list(
                conn.execute(
                    _INSERT_ORDERED, [dict(zip(_COLUMNS, row, strict=True)) for row in values]
                ).scalars()
            )
        for i, mid in zip(pending, ids, strict=True):
            send = results[i][0]
            out = MessageOut(
                id=format_id(mid),
                conversation_id=send.conversation_id,
                sender_id=send.sender_id,
                body=send.body,
                created_at=now,
                client_msg_id=send.client_msg_id,
            )
            results[i] = (send, out, True)
            new.append(out)
    for n, (send, message, _created) in enumerate(results):
        if message is None and send.client_msg_id is not None:
            first = fresh.get((send.conversation_id, send.sender_id, send.client_msg_id))
            if first is not None and first != n:
                results[n] = (send, results[first][1], False)
    return Stored(results, refused, new, confirmed)


def _earlier_copies(conn: Connection, batch: list[Send]) -> dict[tuple[int, int, str], MessageOut]:
    keys = {
        (s.conversation_id, s.sender_id, s.client_msg_id)
        for s in batch
        if s.client_msg_id is not None
    }
    if not keys:
        return {}
    found: dict[tuple[int, int, str], MessageOut] = {}
    ordered = list(keys)
    for start in range(0, len(ordered), _EARLIER_TERMS):
        chunk = ordered[start : start + _EARLIER_TERMS]
        terms = 1 << (len(chunk) - 1).bit_length()  # 1, 2, 4, … 64
        chunk += [chunk[-1]] * (terms - len(chunk))
        params: dict[str, object] = {}
        for i, (cid, uid, key) in enumerate(chunk):
            params[f"c{i}"], params[f"s{i}"], params[f"k{i}"] = cid, uid, key
        for row in conn.execute(_earlier_statement(terms), params):
            found[(row.conversation_id, row.sender_id, row.client_msg_id or "")] = message_out(row)
    return found


class StoredMessage(Protocol):
    """A stored message's columns: an ORM `Message` or a Core row of them."""

    id: int
    conversation_id: int
    sender_id: int
    body: str
    created_at: datetime
    client_msg_id: str | None


def message_out(message: StoredMessage) -> MessageOut:
    return MessageOut(
        id=format_id(message.id),
        conversation_id=message.conversation_id,
        sender_id=message.sender_id,
        body=message.body,
        created_at=message.created_at,
        client_msg_id=message.client_msg_id,
    )


def _fail(send: Send, exc: BaseException) -> None:
    if send.done.done():
        return
    if isinstance(exc, IntegrityError):
        # A conversation deleted under the send, or a retry race lost to another node
        # that the one-by-one pass could not resolve either.
        send.done.set_exception(NotFoundError("conversation not found"))
    elif isinstance(exc, AppError):
        send.done.set_exception(exc)
    else:
        log.error("storing a message failed", exc_info=exc)
        send.done.set_exception(exc)
