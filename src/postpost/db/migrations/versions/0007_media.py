"""Media: upload status, probe failure reason, size cap, 64-bit sizes, key lookup; per-plan upload cap.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MIB = 1024 * 1024
MEDIA_MAX_BYTES: dict[str, int | None] = {"starter": 50 * MIB, "pro": 100 * MIB, "premium": 250 * MIB}


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.alter_column("size", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True)
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("max_bytes", sa.BigInteger(), nullable=True))
        batch.create_index("ix_media_storage_key", ["storage_key"], unique=True)
        batch.create_index("ix_media_status_created", ["status", "created_at"], unique=False)
    _set_plan_caps(MEDIA_MAX_BYTES)


def downgrade() -> None:
    _set_plan_caps(dict.fromkeys(MEDIA_MAX_BYTES))
    with op.batch_alter_table("media") as batch:
        batch.drop_index("ix_media_status_created")
        batch.drop_index("ix_media_storage_key")
        batch.drop_column("max_bytes")
        batch.drop_column("error")
        batch.drop_column("status")
        batch.alter_column("size", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True)


def _set_plan_caps(caps: dict[str, int | None]) -> None:
    """Write `mediaMaxBytes` into the seeded plans' entitlements (None removes it)."""
    plans = sa.table("plans", sa.column("key", sa.String()), sa.column("entitlements", sa.JSON()))
    connection = op.get_bind()
    for key, entitlements in connection.execute(sa.select(plans.c.key, plans.c.entitlements)).all():
        if key not in caps:
            continue
        updated = dict(entitlements or {})
        if caps[key] is None:
            updated.pop("mediaMaxBytes", None)
        else:
            updated["mediaMaxBytes"] = caps[key]
        connection.execute(plans.update().where(plans.c.key == key).values(entitlements=updated))
