"""`ChatService`: conversations, stored messages, read state and the chat broadcasts.

The socket handlers (`chat.namespace`) and the HTTP routes (`chat.routes`) both
call this one service, so `message:send` and `POST .../messages` store and
broadcast exactly the same way. Every method takes the acting user's id and
checks membership itself: a non-member learns only "forbidden" (the
conversation exists) or "not found".

Broadcasts leave only after the database commit, so a client that receives
`message:new` can always fetch the message back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from switchboard.auth.users import UserService
from switchboard.chat import queries
from switchboard.chat.membership import MemberCache
from switchboard.chat.receipts import ReceiptWriter
from switchboard.chat.schemas import (
    MAX_DB_ID,
    MAX_MEMBERS,
    ConversationOut,
    ConversationSummaryOut,
    MessageOut,
    ReadMarkOut,
)
from switchboard.chat.writer import MessageWriter, StoredMessage, message_out
from switchboard.config import Settings
from switchboard.errors import (
    ForbiddenError,
    InvalidPayloadError,
    NotFoundError,
    TooLargeError,
)
from switchboard.limits import Limits
from switchboard.realtime.facade import Realtime
from switchboard.storage.cached_loader import CachedLoader
from switchboard.storage.database import Database
from switchboard.storage.json_lists import in_json_list, json_list
from switchboard.storage.loader import BatchLoader
from switchboard.storage.models import (
    Conversation,
    ConversationMember,
    Message,
    format_id,
    parse_id,
    utcnow,
)
from switchboard.types import (
    CHAT,
    Room,
    Sid,
    UserId,
    conversation_of_room,
    conversation_room,
    user_room,
)

log = logging.getLogger("switchboard.chat")

T = TypeVar("T")


def _nothing(_conn: Connection) -> None:
    """The work of a bare membership check (`ChatService.require_member`)."""


# Built once (a connect storm runs it per batch of users): one JSON list serves every size.
_MEMBERSHIPS = (
    select(ConversationMember.user_id, ConversationMember.conversation_id)
    .where(in_json_list(ConversationMember.user_id, "user_ids"))
    .order_by(ConversationMember.user_id, ConversationMember.conversation_id)
)


def _message_id(value: str, field: str) -> int:
    """The integer key behind a public message id; anything else is bad input."""
    mid = parse_id(value)
    # parse_id accepts a few digits more than a 64-bit key holds: refuse those
    # here rather than overflow the database driver.
    if mid is None or not 1 <= mid <= MAX_DB_ID:
        raise InvalidPayloadError(f"{field}: not a message id")
    return mid


class StoredConversation(Protocol):
    """A stored conversation's columns: an ORM `Conversation` or a Core row of them."""

    id: int
    title: str | None
    created_at: datetime
    last_activity_at: datetime


def _conversation_out(conv: StoredConversation, member_ids: list[int]) -> ConversationOut:
    return ConversationOut(
        id=conv.id, title=conv.title, member_ids=member_ids, created_at=conv.created_at
    )


class ChatService:
    def __init__(
        self,
        db: Database,
        realtime: Realtime,
        users: UserService,
        settings: Settings,
        limits: Limits | None = None,
    ) -> None:
        self.db = db
        # The per-user message budget, shared by sockets and HTTP on every node.
        self.limits = limits
        self.realtime = realtime
        self.users = users
        self.settings = settings
        # One writer for every send on this node: its batches commit and broadcast
        # one after another, so this node emits a conversation's messages in id order.
        # Senders known to be members skip the membership query (kept by the log).
        self.members = MemberCache(lambda: realtime.started)
        self.writer = MessageWriter(db, self._publish, self.members)
        # Read receipts share transactions the same way (receipts.py).
        self.receipts = ReceiptWriter(db, self.members)
        # Connects and presence changes ask for users' conversations in bursts; a
        # user's later tabs are answered from memory, kept by the log's join/leave entries.
        self._memberships: CachedLoader[UserId, tuple[int, ...]] = CachedLoader(
            BatchLoader(self._conversation_ids_of, ()), lambda: realtime.started
        )

    # -- conversations -------------------------------------------------------------

    async def create_conversation(
        self, creator_id: UserId, member_ids: Sequence[int], title: str | None
    ) -> ConversationOut:
        """Create a conversation (the creator is always a member); members' sockets join it."""
        ids = sorted({*member_ids, creator_id})
        if len(ids) > MAX_MEMBERS:
            raise InvalidPayloadError(f"member_ids: at most {MAX_MEMBERS} members")
        missing = set(ids) - await self.users.existing_ids(ids)
        if missing:
            raise InvalidPayloadError(
                "member_ids: unknown users " + ", ".join(str(i) for i in sorted(missing))
            )
        refused = await self.users.refused_recipients(creator_id, ids)
        if refused:  # the host's UserDirectory.may_message said no
            raise ForbiddenError("may not message users " + ", ".join(str(i) for i in refused))
        title = (title or "").strip() or None
        now = utcnow()
        conv = Conversation(
            title=title, created_by=creator_id, created_at=now, last_activity_at=now
        )
        async with self.db.write_session() as session:
            try:
                session.add(conv)
                await session.flush()
                session.add_all(
                    ConversationMember(conversation_id=conv.id, user_id=uid, joined_at=now)
                    for uid in ids
                )
                await session.commit()
            except IntegrityError:  # a member was deleted meanwhile
                raise InvalidPayloadError("member_ids: unknown users") from None
        room = conversation_room(conv.id)
        for uid in ids:
            # At once on this node; the join entry tells every node.
            self._memberships.update(uid, _with(conv.id))
            try:
                await self.realtime.join_user_to_room(uid, room, namespace=CHAT)
            except Exception:
                log.exception("could not join sockets to a new conversation", extra={"room": room})
        return _conversation_out(conv, ids)

    async def conversation_ids(self, user_id: UserId) -> tuple[int, ...]:
        """The ids of every conversation `user_id` is a member of (batched with others',
        or from memory for a user asked about in the last seconds)."""
        return await self._memberships.load(user_id)

    async def _conversation_ids_of(self, user_ids: list[UserId]) -> dict[UserId, tuple[int, ...]]:
        def read(conn: Connection) -> dict[UserId, tuple[int, ...]]:
            found: dict[UserId, list[int]] = {}
            for uid, cid in conn.execute(_MEMBERSHIPS, {"user_ids": json_list(user_ids)}):
                found.setdefault(uid, []).append(cid)
            return {uid: tuple(cids) for uid, cids in found.items()}

        # A connect storm: one Core query per batch of users, no ORM session.
        return await self.db.run_read(read)

    async def list_conversations(self, user_id: UserId) -> list[ConversationSummaryOut]:
        """The caller's conversations, newest activity first: four queries for any number,
        in one transaction and one hand-off to the database."""
        found = await self.db.run_read(lambda conn: queries.conversation_list(conn, user_id))
        last = {m.conversation_id: message_out(cast(StoredMessage, m)) for m in found.newest}

        def activity(conv: StoredConversation) -> tuple[datetime, int]:
            newest = last.get(conv.id)
            at = conv.last_activity_at
            return (max(at, newest.created_at) if newest is not None else at, conv.id)

        conversations = cast(list[StoredConversation], found.conversations)
        conversations.sort(key=activity, reverse=True)
        return [
            ConversationSummaryOut(
                **_conversation_out(c, found.members.get(c.id, [])).model_dump(),
                last_message=last.get(c.id),
                unread_count=found.unread.get(c.id, 0),
            )
            for c in conversations
        ]

    async def rename_conversation(
        self, user_id: UserId, conversation_id: int, title: str | None
    ) -> ConversationOut:
        """Set (or clear, with None or blanks) the title; the room gets `conversation:updated`."""
        title = (title or "").strip() or None
        async with self.db.write_session() as session:
            await self._require_member(session, user_id, conversation_id)
            conv = await session.get(Conversation, conversation_id)
            if conv is None:  # deleted between the two statements
                raise NotFoundError("conversation not found")
            conv.title = title
            await session.commit()
            out = _conversation_out(conv, await self._member_ids(session, conversation_id))
        await self._emit(
            conversation_room(conversation_id), "conversation:updated", out.model_dump(mode="json")
        )
        return out

    async def leave_conversation(self, user_id: UserId, conversation_id: int) -> None:
        """Remove the caller from the conversation.

        The remaining members' room gets `conversation:updated` (the new member
        list) and the leaver's own sockets get it too, so that their other tabs
        drop the conversation.
        """
        async with self.db.write_session() as session:
            await self._require_member(session, user_id, conversation_id)
            await session.execute(
                delete(ConversationMember).where(
                    ConversationMember.conversation_id == conversation_id,
                    ConversationMember.user_id == user_id,
                )
            )
            await session.commit()
            # At once on this node; the leave entry below tells the others.
            self.members.forget(conversation_id, user_id)
            self._memberships.update(user_id, _without(conversation_id))
            conv = await session.get(Conversation, conversation_id)
            members = await self._member_ids(session, conversation_id)
        if conv is None:
            return
        out = _conversation_out(conv, members).model_dump(mode="json")
        room = conversation_room(conversation_id)
        # Tell the leaver's sockets while they are still in the room, then take them
        # out, on every node (a log entry after the event, so the order holds).
        await self._emit([room, user_room(user_id)], "conversation:updated", out)
        try:
            await self.realtime.leave_user_from_room(user_id, room, namespace=CHAT)
        except Exception:
            log.exception("could not take sockets out of a left conversation")

    @staticmethod
    async def _member_ids(session: AsyncSession, conversation_id: int) -> list[int]:
        rows = await session.scalars(
            select(ConversationMember.user_id)
            .where(ConversationMember.conversation_id == conversation_id)
            .order_by(ConversationMember.user_id)
        )
        return list(rows)

    async def read_marks(self, user_id: UserId, conversation_id: int) -> list[ReadMarkOut]:
        """Every member's last read message (members only), for "Seen by" after a reload."""
        marks = await self._as_member(
            self.db.run_read,
            user_id,
            conversation_id,
            lambda conn: queries.read_marks(conn, conversation_id),
        )
        return [
            ReadMarkOut(user_id=uid, message_id=None if mid is None else format_id(mid))
            for uid, mid in marks
        ]

    async def require_member(self, user_id: UserId, conversation_id: int) -> None:
        """Raise NotFoundError (no such conversation) or ForbiddenError (not a member)."""
        if not self.members.known({(conversation_id, user_id)}):
            await self._as_member(self.db.run_read, user_id, conversation_id, _nothing)

    async def _as_member(
        self,
        run: Callable[[Callable[[Connection], T]], Awaitable[T]],
        user_id: UserId,
        conversation_id: int,
        work: Callable[[Connection], T],
    ) -> T:
        """`work` in one `run` (`db.run_read` or `db.run_write`), for members only.

        Membership comes from memory when the pair is remembered (`MemberCache`,
        as for sends); otherwise it is checked in the same hop, and remembered.
        """
        pair = (conversation_id, user_id)
        if self.members.known({pair}):
            return await run(work)
        epoch = self.members.epoch

        def checked(conn: Connection) -> T:
            queries.check_member(conn, user_id, conversation_id)
            return work(conn)

        result = await run(checked)
        self.members.remember({pair}, epoch)
        return result

    @staticmethod
    async def _require_member(session: AsyncSession, user_id: UserId, conversation_id: int) -> None:
        await session.run_sync(
            lambda s: queries.check_member(s.connection(), user_id, conversation_id)
        )

    # -- messages --------------------------------------------------------------------

    def _check_body(self, body: str) -> None:
        limit = self.settings.max_message_chars
        if len(body) > limit:
            raise TooLargeError(f"body: longer than {limit} characters")
        if not body.strip():
            raise InvalidPayloadError("body: must not be empty")

    async def send_message(
        self, sender_id: UserId, conversation_id: int, body: str, client_msg_id: str | None
    ) -> MessageOut:
        """Store a message, then emit `message:new` to the conversation's room.

        A repeated `client_msg_id` (same sender and conversation) returns the
        message stored the first time and emits nothing. Concurrent sends share
        a transaction (`writer.MessageWriter`); each is answered after its commit.
        """
        if self.limits is not None:
            await self.limits.message(sender_id)  # RateLimitedError: ack or HTTP 429
        self._check_body(body)
        message, _created = await self.writer.write(sender_id, conversation_id, body, client_msg_id)
        return message

    async def _publish(self, messages: list[MessageOut]) -> None:
        """`message:new` for each message of a committed batch, in id order, in one append."""
        broadcasts = [
            (conversation_room(m.conversation_id), "message:new", m.wire) for m in messages
        ]
        with _broadcast_failure_logged("message:new"):
            await self.realtime.to_rooms(broadcasts, namespace=CHAT)

    async def history(
        self, user_id: UserId, conversation_id: int, before: str | None, limit: int
    ) -> list[MessageOut]:
        """The `limit` newest messages older than `before` (or the newest), oldest first."""
        rows = await self._newest_first(user_id, conversation_id, before, limit)
        rows.reverse()
        return [message_out(m) for m in rows]

    async def _newest_first(
        self,
        user_id: UserId,
        conversation_id: int,
        before: str | None,
        limit: int,
        *where: ColumnElement[bool],
    ) -> list[StoredMessage]:
        """A page of a conversation's messages (members only), newest first."""
        before_id = None if before is None else _message_id(before, "before")
        rows = await self._as_member(
            self.db.run_read,
            user_id,
            conversation_id,
            lambda conn: queries.newest_first(conn, conversation_id, before_id, limit, where),
        )
        return cast(list[StoredMessage], rows)

    async def search(
        self, user_id: UserId, conversation_id: int, query: str, before: str | None, limit: int
    ) -> list[MessageOut]:
        """Messages whose body contains `query` (case-insensitive), newest first.

        Older pages: pass the last (oldest) id of a page as `before`. A substring
        scan of one conversation; case folding is the database's `lower()` (ASCII
        only on SQLite).
        """
        needle = query.strip().lower()
        if not needle:
            raise InvalidPayloadError("q: must not be empty")
        if "\x00" in needle:  # PostgreSQL refuses NUL in text: bad input, not a 500
            raise InvalidPayloadError("q: must not contain NUL characters")
        rows = await self._newest_first(
            user_id,
            conversation_id,
            before,
            limit,
            func.lower(Message.body).contains(needle, autoescape=True),
        )
        return [message_out(m) for m in rows]

    # -- read receipts, typing, presence ----------------------------------------------

    async def mark_read(self, user_id: UserId, conversation_id: int, message_id: str) -> bool:
        """Move the member's last read message forward (never back); True when it moved.

        When it moved, the room gets `message:read {conversation_id, user_id, message_id}`.
        """
        mid = _message_id(message_id, "message_id")
        moved = await self.receipts.mark(user_id, conversation_id, mid)
        if not moved:
            return False
        await self._emit(
            conversation_room(conversation_id),
            "message:read",
            {"conversation_id": conversation_id, "user_id": user_id, "message_id": format_id(mid)},
        )
        return True

    async def typing(
        self, user_id: UserId, conversation_id: int, typing: bool, *, skip_sid: Sid | None
    ) -> None:
        """Tell the room's other sockets that `user_id` started or stopped typing."""
        await self.require_member(user_id, conversation_id)
        await self._emit(
            conversation_room(conversation_id),
            "typing",
            {"conversation_id": conversation_id, "user_id": user_id, "typing": typing},
            skip_sid=skip_sid,
        )

    def on_room_change(self, namespace: str, kind: str, user_id: UserId, room: Room) -> None:
        """A join or leave of any node (RealtimeServer.on_room_change): keeps `members`
        and the remembered conversations of each user right."""
        if namespace != CHAT:
            return
        self.members.apply(kind, user_id, room)
        conversation_id = conversation_of_room(room)
        if conversation_id is not None:
            change = _with if kind == "join" else _without
            self._memberships.update(user_id, change(conversation_id))

    async def on_presence_change(self, user_id: UserId, online: bool) -> None:
        """Presence listener: one `presence` broadcast to all of the user's conversation rooms."""
        rooms = [conversation_room(cid) for cid in await self.conversation_ids(user_id)]
        if rooms:
            await self._emit(rooms, "presence", {"user_id": user_id, "online": online})

    async def _emit(
        self, room: Room | list[Room], event: str, data: Any, *, skip_sid: Sid | None = None
    ) -> None:
        with _broadcast_failure_logged(event):
            await self.realtime.to_room(room, event, data, namespace=CHAT, skip_sid=skip_sid)


def _with(conversation_id: int) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
    return lambda ids: ids if conversation_id in ids else (*ids, conversation_id)


def _without(conversation_id: int) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
    return lambda ids: tuple(cid for cid in ids if cid != conversation_id)


@contextmanager
def _broadcast_failure_logged(event: str) -> Iterator[None]:
    """The data is committed already: a failed broadcast is logged, not turned into
    an error for the sender (peers still get it from history)."""
    try:
        yield
    except Exception:
        log.exception("chat broadcast failed", extra={"event": event})
