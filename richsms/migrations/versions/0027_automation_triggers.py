"""event automations (started by outside events) and the triggers they accepted

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_trigger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", richsms.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["automation_id"],
            ["automation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("automation_id", "idempotency_key"),
    )
    with op.batch_alter_table("automation_trigger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_automation_trigger_pending", ["state", "automation_id", "id"], unique=False
        )

    with op.batch_alter_table("automation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hook_salt", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("per_minute", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("next_slot", richsms.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("automation", schema=None) as batch_op:
        batch_op.drop_column("next_slot")
        batch_op.drop_column("per_minute")
        batch_op.drop_column("hook_salt")

    with op.batch_alter_table("automation_trigger", schema=None) as batch_op:
        batch_op.drop_index("ix_automation_trigger_pending")

    op.drop_table("automation_trigger")
