"""page events: scratch revealed, wheel spun, coupon copied, once per recipient

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("page_id", "block_id", "contact_id", "kind", name="uq_page_event"),
    )
    op.create_index("ix_page_event_page", "page_event", ["page_id", "kind"])
    op.create_index("ix_page_event_campaign_id", "page_event", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_page_event_campaign_id", table_name="page_event")
    op.drop_index("ix_page_event_page", table_name="page_event")
    op.drop_table("page_event")
