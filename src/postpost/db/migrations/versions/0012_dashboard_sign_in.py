"""Dashboard sign-in: a password hash and a session epoch per user (bumping it ends every session),
and the failed sign-in attempts per email and address.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(255), nullable=True))
    op.add_column("users", sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_sign_in_failures_window_started_at", "sign_in_failures", ["window_started_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_window_started_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
        batch.drop_column("password_hash")
