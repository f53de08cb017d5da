"""Token revocation: revoked token ids and per-user "log out everywhere" cutoffs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_index("ix_revoked_tokens_revoked_at", "revoked_tokens", ["revoked_at"])
    op.create_table(
        "token_cutoffs",
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("valid_after", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_token_cutoffs_updated_at", "token_cutoffs", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_token_cutoffs_updated_at", "token_cutoffs")
    op.drop_table("token_cutoffs")
    op.drop_index("ix_revoked_tokens_revoked_at", "revoked_tokens")
    op.drop_index("ix_revoked_tokens_expires_at", "revoked_tokens")
    op.drop_table("revoked_tokens")
