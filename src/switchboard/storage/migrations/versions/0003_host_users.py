"""Host users: `users.external_id`, the host app's id of a user (unique when set).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column and a separate index: both are plain ALTER/CREATE on
    # SQLite too (no table rebuild, which would cascade-delete with foreign keys on).
    op.add_column("users", sa.Column("external_id", sa.String(255), nullable=True))
    op.create_index("ux_users_external_id", "users", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_users_external_id", "users")
    op.drop_column("users", "external_id")
