"""Group commit for chat messages: sends that arrive while a transaction runs share the next.

One transaction checks membership, finds earlier copies of retried
`client_msg_id`s, inserts every new message and moves each conversation's
activity time, for a whole batch: a busy conversation costs one commit per
batch instead of one per message. Nothing is answered before its commit.
After the commit the batch's `message:new` broadcasts leave in id order, all
in one event-loop iteration, so the transport writes each recipient once for
the whole batch.

The queueing is `storage.group_commit.GroupCommit`. A batch that fails as a
whole (a `client_msg_id` race lost to another node, a database error) is
retried one message at a time, so one bad send only fails itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from switchboard.chat.schemas import MessageOut
from switchboard.errors import AppError, ForbiddenError, NotFoundError
from switchboard.storage.database import Database
from switchboard.storage.group_commit import GroupCommit
from switchboard.storage.models import (
    Conversation,
    ConversationMember,
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
    def __init__(self, db: Database, published: Published) -> None:
        self.db = db
        self.published = published
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
        # One transaction, one hand-off to the database (see Database.run_write).
        stored = await self.db.run_write(lambda conn: _store(conn, batch))
        # Committed: the broadcasts leave (in id order), then every sender is answered.
        if stored.new:
            try:
                await self.published(stored.new)
            except Exception:
                log.exception("broadcasting a batch of %d messages failed", len(stored.new))
        for send, message, created in stored.results:
            if send.done.done():
                continue
            if message is None:
                send.done.set_exception(
                    stored.refused.get(send.conversation_id) or ForbiddenError()
                )
            else:
                send.done.set_result((message, created))


@dataclass(slots=True)
class Stored:
    """What one batch's transaction decided, per send and in all."""

    # Per send: the stored message (None: refused), and whether it is new.
    results: list[tuple[Send, MessageOut | None, bool]]
    refused: dict[int, AppError]  # conversation id -> why its sends were refused
    new: list[MessageOut]  # the messages this batch inserted, in id order


def _store(conn: Connection, batch: list[Send]) -> Stored:
    """Check membership, find earlier copies of retries, insert the rest: one transaction."""
    cm = ConversationMember
    pairs = {(s.conversation_id, s.sender_id) for s in batch}
    members: set[tuple[int, int]] = {
        (cid, uid)
        for cid, uid in conn.execute(
            select(cm.conversation_id, cm.user_id).where(
                tuple_(cm.conversation_id, cm.user_id).in_(pairs)
            )
        )
    }
    refused: dict[int, AppError] = {}
    unknown = {cid for cid, uid in pairs if (cid, uid) not in members}
    if unknown:
        existing = set(
            conn.execute(select(Conversation.id).where(Conversation.id.in_(unknown))).scalars()
        )
        for cid in unknown:
            refused[cid] = (
                ForbiddenError("not a member of this conversation")
                if cid in existing
                else NotFoundError("conversation not found")
            )
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
        ids = conn.execute(
            insert(Message).returning(Message.id, sort_by_parameter_order=True),
            [
                {
                    "conversation_id": results[i][0].conversation_id,
                    "sender_id": results[i][0].sender_id,
                    "body": results[i][0].body,
                    "client_msg_id": results[i][0].client_msg_id,
                    "created_at": now,
                }
                for i in pending
            ],
        ).scalars()
        conn.execute(
            update(Conversation)
            .where(Conversation.id.in_({results[i][0].conversation_id for i in pending}))
            .values(last_activity_at=now)
        )
        for i, mid in zip(pending, list(ids), strict=True):
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
    return Stored(results, refused, new)


def _earlier_copies(conn: Connection, batch: list[Send]) -> dict[tuple[int, int, str], MessageOut]:
    keys = {
        (s.conversation_id, s.sender_id, s.client_msg_id)
        for s in batch
        if s.client_msg_id is not None
    }
    if not keys:
        return {}
    m = Message.__table__.c
    rows = conn.execute(
        select(m.id, m.conversation_id, m.sender_id, m.body, m.created_at, m.client_msg_id).where(
            tuple_(m.conversation_id, m.sender_id, m.client_msg_id).in_(keys)
        )
    )
    return {
        (row.conversation_id, row.sender_id, row.client_msg_id or ""): message_out(row)
        for row in rows
    }


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
