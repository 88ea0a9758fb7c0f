"""campaigns: planning as a resumable job, progress, cancellation

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = richsms.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.add_column(sa.Column("plan_at", _TIME, nullable=True))
        batch_op.add_column(
            sa.Column("planning_cursor", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("planned_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("excluded_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("error_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("total_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", _TIME, nullable=True))
        batch_op.add_column(sa.Column("done_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", _TIME, nullable=True))
        batch_op.add_column(sa.Column("failure", sa.Text(), nullable=True))
        batch_op.create_index("ix_campaign_status", ["status", "plan_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.drop_index("ix_campaign_status")
        for column in (
            "failure",
            "cancelled_at",
            "done_at",
            "claimed_until",
            "claimed_by",
            "total_count",
            "error_count",
            "excluded_count",
            "planned_count",
            "planning_cursor",
            "plan_at",
        ):
            batch_op.drop_column(column)
