"""A/B tests: a campaign's `ab_test`, each recipient's variant, the test's outcome

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from richsms.types import UTCDateTime

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("ab_test", sa.JSON(), nullable=True))
    op.create_table(
        "ab_recipient",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), primary_key=True),
        sa.Column("contact_id", sa.Integer(), primary_key=True),
        sa.Column("variant", sa.Integer(), nullable=True),
    )
    op.create_index(
        "ix_ab_recipient_variant", "ab_recipient", ["campaign_id", "variant", "contact_id"]
    )
    op.create_table(
        "ab_outcome",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), primary_key=True),
        sa.Column("decide_at", UTCDateTime(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("winner", sa.Integer(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("ab_outcome")
    op.drop_index("ix_ab_recipient_variant", table_name="ab_recipient")
    op.drop_table("ab_recipient")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("ab_test")
