"""outbox: provider, receipts, delivered/undelivered

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("undelivered_at", richsms.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("provider", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sender_number_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_message_sender_number_id", "sender_number", ["sender_number_id"], ["id"]
        )
    op.create_table(
        "message_part",
        _id(),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("receipt_at", richsms.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "provider_id"),
    )
    with op.batch_alter_table("message_part", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_part_message_id"), ["message_id"], unique=False
        )
    op.create_table(
        "pending_receipt",
        _id(),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "provider_id", "state"),
    )


def downgrade() -> None:
    op.drop_table("pending_receipt")
    with op.batch_alter_table("message_part", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_part_message_id"))
    op.drop_table("message_part")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_sender_number_id", type_="foreignkey")
        batch_op.drop_column("sender_number_id")
        batch_op.drop_column("provider")
        batch_op.drop_column("undelivered_at")
