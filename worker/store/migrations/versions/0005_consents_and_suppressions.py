"""consent records, the suppression list, subscribers' address hashes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:45:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("form", "import", "api", name="consentsource", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("text_version", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletters.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_subscriber_id", ["subscriber_id"], unique=False)
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("newsletter_id", sa.Integer(), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "unsubscribed",
                "bounced",
                "complained",
                "erased",
                name="suppressionreason",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suppressions_email_hash", ["email_hash", "newsletter_id"], unique=False
        )
    # existing subscribers get their hash before the column becomes NOT NULL
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    subscribers = sa.table(
        "subscribers", sa.column("id"), sa.column("email"), sa.column("email_hash")
    )
    rows = connection.execute(sa.select(subscribers.c.id, subscribers.c.email)).all()
    for subscriber_id, email in rows:
        connection.execute(
            subscribers.update()
            .where(subscribers.c.id == subscriber_id)
            .values(email_hash=hashlib.sha256(email.encode("utf-8")).hexdigest())
        )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.alter_column("email_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_subscribers_email_hash", ["email_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index("ix_subscribers_email_hash")
        batch_op.drop_column("email_hash")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index("ix_suppressions_email_hash")
    op.drop_table("suppressions")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_subscriber_id")
    op.drop_table("consents")
