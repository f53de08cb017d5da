"""Maintained unread counts: one row per user instead of a COUNT per question.

Backfills every user's count of delivered, unread notifications, and drops
the partial index that only those COUNT queries used.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from switchboard.storage.models import BigId

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_UNREAD = "read_at IS NULL AND delivered_at IS NOT NULL"
_BACKFILL = (
    "INSERT INTO notification_unread (user_id, count) "
    "SELECT user_id, COUNT(*) FROM notifications "
    "WHERE read_at IS NULL AND delivered_at IS NOT NULL GROUP BY user_id"
)


def upgrade() -> None:
    op.create_table(
        "notification_unread",
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.execute(_BACKFILL)
    op.drop_index("ix_notifications_unread", "notifications")


def downgrade() -> None:
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id"],
        sqlite_where=sa.text(_UNREAD),
        postgresql_where=sa.text(_UNREAD),
    )
    op.drop_table("notification_unread")
