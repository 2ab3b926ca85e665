"""LinkedIn metrics cache: analytics answers per connection with their expiry, and rate-limit holds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "linkedin_metrics",
        sa.Column("connection_id", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id", "key"),
    )
    op.create_index("ix_linkedin_metrics_expires", "linkedin_metrics", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_linkedin_metrics_expires", table_name="linkedin_metrics")
    op.drop_table("linkedin_metrics")
