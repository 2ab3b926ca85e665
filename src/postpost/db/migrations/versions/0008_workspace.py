"""Workspace: managed users' connect-page tokens and per-user API keys.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("connect_nonce", sa.String(64), nullable=True))
    op.add_column("users", sa.Column("connect_expires_at", sa.DateTime(), nullable=True))
    op.add_column(
        "api_keys", sa.Column("workspace_issued", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    for table, column in (
        ("api_keys", "workspace_issued"),
        ("users", "connect_expires_at"),
        ("users", "connect_nonce"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
