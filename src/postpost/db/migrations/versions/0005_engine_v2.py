"""Engine v2: multi-step publish state, uncertain attempts, token refresh leases, rate holds and budgets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("step_state", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("unsure", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("first_attempt_at", sa.DateTime(), nullable=True))
    # plain ALTERs for post_groups: a batch rebuild on SQLite would drop its count triggers (0002)
    op.add_column("post_groups", sa.Column("alt_texts", sa.JSON(), nullable=True))
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("secrets_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("refresh_lease_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("hold_until", sa.DateTime(), nullable=True))
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("hold_until")
        batch.drop_column("refresh_lease_until")
        batch.drop_column("secrets_version")
    op.execute("ALTER TABLE post_groups DROP COLUMN alt_texts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("first_attempt_at")
        batch.drop_column("unsure")
        batch.drop_column("step_state")
