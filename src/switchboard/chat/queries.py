"""The chat service's reads and small writes as Core statements on one connection.

Each function here runs whole inside one `Database.run_read` or `run_write`
call: one hand-off to the database for the lot. The same work through an ORM
session cost one hand-off per statement plus the session's own bookkeeping,
5–8 ms of CPU for a read receipt or a history page (`bench.send_path
--receipts`), where a send, which already worked this way, cost 0.7 ms.

The statements also seek rather than walk: every lookup is through a primary
key or an index on (conversation, id), so its cost follows what it returns,
not how long the conversation's history is (`tests/unit/test_query_plans.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, and_, bindparam, func, or_, select, update
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from switchboard.chat.membership import Pair
from switchboard.errors import AppError, ForbiddenError, NotFoundError
from switchboard.storage.models import Conversation, ConversationMember, Message
from switchboard.types import UserId

_cm = ConversationMember

# What `writer.message_out` reads: a stored message's columns.
MESSAGE_COLUMNS = (
    Message.id,
    Message.conversation_id,
    Message.sender_id,
    Message.body,
    Message.created_at,
    Message.client_msg_id,
)

# Built once, as the statements below: a reused statement keeps its compiled form
# (see writer.py). Conditional, so that two receipts that race cannot move the mark
# backwards.
_MOVE_READ_MARK = (
    update(_cm)
    .where(
        _cm.conversation_id == bindparam("in_conversation"),
        _cm.user_id == bindparam("of_user"),
        or_(_cm.last_read_message_id.is_(None), _cm.last_read_message_id < bindparam("mark")),
    )
    .values(last_read_message_id=bindparam("mark"))
)
_READ_MARKS = (
    select(_cm.user_id, _cm.last_read_message_id)
    .where(_cm.conversation_id == bindparam("conversation_id"))
    .order_by(_cm.user_id)
)


# A batch's membership question: the IN lists select a superset that Python narrows
# down, and one statement serves every batch size (expanding parameters).
_MEMBERS_AMONG = select(_cm.conversation_id, _cm.user_id).where(
    _cm.conversation_id.in_(bindparam("conversation_ids", expanding=True)),
    _cm.user_id.in_(bindparam("user_ids", expanding=True)),
)
_EXISTING = select(Conversation.id).where(
    Conversation.id.in_(bindparam("conversation_ids", expanding=True))
)


def confirm_members(
    conn: Connection, pairs: set[Pair], known: set[Pair]
) -> tuple[set[Pair], set[Pair], dict[int, AppError]]:
    """Which (conversation, user) `pairs` are members, for a batch of writes.

    `known` pairs are members already (`MemberCache`); only the others are
    asked. Returns the members, the pairs the database confirmed (for the
    cache to remember) and, per conversation of a refused pair, why: not
    found, or forbidden (it exists; the user is not in it).
    """
    asked = pairs - known
    confirmed: set[Pair] = set()
    if asked:
        rows = conn.execute(
            _MEMBERS_AMONG,
            {
                "conversation_ids": list({cid for cid, _uid in asked}),
                "user_ids": list({uid for _cid, uid in asked}),
            },
        )
        confirmed = {(cid, uid) for cid, uid in rows if (cid, uid) in asked}
    members = (pairs & known) | confirmed
    refused: dict[int, AppError] = {}
    unknown = {cid for cid, uid in pairs if (cid, uid) not in members}
    if unknown:
        existing = set(conn.execute(_EXISTING, {"conversation_ids": list(unknown)}).scalars())
        for cid in unknown:
            refused[cid] = (
                ForbiddenError("not a member of this conversation")
                if cid in existing
                else NotFoundError("conversation not found")
            )
    return members, confirmed, refused


def check_member(conn: Connection, user_id: UserId, conversation_id: int) -> None:
    """Raise NotFoundError (no such conversation) or ForbiddenError (not a member)."""
    pair = (conversation_id, user_id)
    members, _confirmed, refused = confirm_members(conn, {pair}, set())
    if pair not in members:
        raise refused[conversation_id]


_PAGE = (
    select(*MESSAGE_COLUMNS)
    .where(Message.conversation_id == bindparam("conversation_id"))
    .order_by(Message.id.desc())
    .limit(bindparam("page_size"))
)
_PAGE_BEFORE = _PAGE.where(Message.id < bindparam("before_id"))


def newest_first(
    conn: Connection,
    conversation_id: int,
    before_id: int | None,
    limit: int,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Row[int, int, int, str, datetime, str | None]]:
    """A page of a conversation's messages older than `before_id` (or the newest), newest first.

    `where` narrows it (a search); a plain page runs a statement built once.
    """
    params = {"conversation_id": conversation_id, "page_size": limit, "before_id": before_id}
    stmt = _PAGE if before_id is None else _PAGE_BEFORE
    if where:
        stmt = stmt.where(*where)
    return list(conn.execute(stmt, params))


def move_read_mark_to(conn: Connection, user_id: UserId, conversation_id: int, mark: int) -> bool:
    """The member's last read message becomes `mark` if that is later; True when it moved.

    `mark` must be a message of the conversation (receipts.py checks it).
    """
    moved = conn.execute(
        _MOVE_READ_MARK, {"in_conversation": conversation_id, "of_user": user_id, "mark": mark}
    )
    return moved.rowcount == 1


def read_marks(conn: Connection, conversation_id: int) -> list[tuple[int, int | None]]:
    """(member, last read message id or None) for every member, by member id."""
    rows = conn.execute(_READ_MARKS, {"conversation_id": conversation_id})
    return [(uid, mark) for uid, mark in rows]


@dataclass(slots=True)
class ConversationList:
    """What the conversation list of one user is made of, read in one transaction."""

    conversations: list[Row[int, str | None, datetime, datetime]]  # id, title, created, active
    members: dict[int, list[int]]  # conversation -> member ids, ascending
    newest: list[Row[int, int, int, str, datetime, str | None]]  # MESSAGE_COLUMNS
    unread: dict[int, int]  # conversation -> messages from others after the user's mark


# The conversation list's statements, built once (building them per call cost more
# CPU than running them); each takes the user as `user_id`. Its two lookups seek
# through (conversation, id), so they cost what the caller has unread and how many
# conversations it has, never the history: a max() per conversation is one index
# step (a GROUP BY max walks every entry), and `id > coalesce(last read, 0)` is a
# range where `IS NULL OR id > last read` made SQLite read every message of every
# conversation (tests/unit/test_query_plans.py).
_USER: BindParameter[int] = bindparam("user_id")
_CONVERSATIONS = (
    select(
        Conversation.id, Conversation.title, Conversation.created_at, Conversation.last_activity_at
    )
    .join(_cm, _cm.conversation_id == Conversation.id)
    .where(_cm.user_id == _USER)
)
_MEMBERS_OF_MINE = (
    select(_cm.conversation_id, _cm.user_id)
    .where(_cm.conversation_id.in_(select(_cm.conversation_id).where(_cm.user_id == _USER)))
    .order_by(_cm.conversation_id, _cm.user_id)
)
# The newest message of each of the user's conversations.
NEWEST_MESSAGES = select(*MESSAGE_COLUMNS).where(
    Message.id.in_(
        select(
            select(func.max(Message.id))
            .where(Message.conversation_id == _cm.conversation_id)
            .scalar_subquery()
        ).where(_cm.user_id == _USER)
    )
)
# (conversation id, messages from others after the user's last read one), where any.
UNREAD_COUNTS = (
    select(Message.conversation_id, func.count())
    .join(_cm, and_(_cm.conversation_id == Message.conversation_id, _cm.user_id == _USER))
    .where(Message.sender_id != _USER, Message.id > func.coalesce(_cm.last_read_message_id, 0))
    .group_by(Message.conversation_id)
)


def conversation_list(conn: Connection, user_id: UserId) -> ConversationList:
    """The user's conversations, their members, newest messages and unread counts."""
    user = {"user_id": user_id}
    conversations = list(conn.execute(_CONVERSATIONS, user))
    if not conversations:
        return ConversationList([], {}, [], {})
    members: dict[int, list[int]] = {}
    for cid, uid in conn.execute(_MEMBERS_OF_MINE, user):
        members.setdefault(cid, []).append(uid)
    newest = list(conn.execute(NEWEST_MESSAGES, user))
    unread = {cid: count for cid, count in conn.execute(UNREAD_COUNTS, user)}
    return ConversationList(conversations, members, newest, unread)
