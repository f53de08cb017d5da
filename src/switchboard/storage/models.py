"""ORM models: the whole schema, portable between SQLite and PostgreSQL.

Ids that clients see as strings (messages, notifications) are integer keys
here: they sort in insertion order, which is send order within a
conversation, and they keep indexes small. They are rendered zero-padded
(`format_id`) so that they also sort as strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

ID_WIDTH = 16


def format_id(value: int) -> str:
    """A public string id that sorts like the integer it stands for."""
    return str(value).zfill(ID_WIDTH)


def parse_id(value: str) -> int | None:
    """The integer behind a public id, or None when it is not one of ours."""
    if not value.isascii() or not value.isdigit() or len(value) > ID_WIDTH + 4:
        return None
    return int(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The host app's id for this user (host-token trust, docs/host-auth.md);
    # None for users who registered with Switchboard itself.
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)

    __table_args__ = (Index("ux_users_external_id", "external_id", unique=True),)


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The creation time. Sends do not move it (that was one more statement per
    # batch): a conversation's activity is its newest message's time, or this
    # when it has none (ChatService.list_conversations).
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConversationMember(Base):
    __tablename__ = "conversation_members"

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_members_user", "user_id", "conversation_id"),)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    sender_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    client_msg_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # History pages and unread counts walk (conversation, id) backwards.
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        UniqueConstraint(
            "conversation_id", "sender_id", "client_msg_id", name="uq_messages_client_msg_id"
        ),
    )


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deliver_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_notifications_user_id", "user_id", "id"),
        # The scheduler scans only rows still waiting for delivery.
        Index(
            "ix_notifications_due",
            "deliver_at",
            sqlite_where=text("delivered_at IS NULL"),
            postgresql_where=text("delivered_at IS NULL"),
        ),
        # Retention finds read notifications past their time without a scan.
        Index(
            "ix_notifications_read_created",
            "created_at",
            sqlite_where=text("read_at IS NOT NULL"),
            postgresql_where=text("read_at IS NOT NULL"),
        ),
    )


class NotificationUnread(Base):
    """Each user's number of delivered, unread notifications, kept in step by every write.

    Delivering adds, reading subtracts (never below 0), in the transaction that
    changes the notifications themselves, so a count is one primary-key read
    and a push takes it from the write's RETURNING. Users without a row have 0.
    """

    __tablename__ = "notification_unread"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    count: Mapped[int] = mapped_column(Integer, default=0)


class RevokedToken(Base):
    """One revoked token (logout, refresh rotation), kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No foreign key: a revocation outlives the user it names.
    user_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    revoked_at: Mapped[float] = mapped_column(Float, index=True)


class TokenCutoff(Base):
    """ "Log out everywhere": a user's sessions that started at or before `valid_after` are dead."""

    __tablename__ = "token_cutoffs"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    valid_after: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
