"""Drop posts.may_have_published: the claim's attempt counter already tells the engine to reconcile.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("may_have_published")


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column("may_have_published", sa.Boolean(), nullable=False, server_default=sa.false())
        )
