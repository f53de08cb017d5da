"""An index for retention: read notifications by creation time.

Pruning read notifications older than the retention period scanned the whole
table, once an hour, holding the write lock; this partial index lets it find
them directly, a bounded chunk at a time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_READ = "read_at IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_notifications_read_created",
        "notifications",
        ["created_at"],
        sqlite_where=sa.text(_READ),
        postgresql_where=sa.text(_READ),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_read_created", "notifications")
