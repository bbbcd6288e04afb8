"""digest schedule slot

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 07:40:13.948355
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_status_claimed_at", ["status", "claimed_at"], unique=False
        )

    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_slot", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_digests_newsletter_id_schedule_slot"), ["newsletter_id", "schedule_slot"]
        )


def downgrade() -> None:
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_digests_newsletter_id_schedule_slot"), type_="unique"
        )
        batch_op.drop_column("schedule_slot")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_claimed_at")
