"""event retention: the rollups raw clicks and page events are folded into (per link and
day, a campaign's clicks over time, who did what on a page)

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "click_day",
        sa.Column("link_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("human_clicks", sa.Integer(), nullable=False),
        sa.Column("human_visitors", sa.Integer(), nullable=False),
        sa.Column("first_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_human_at", richsms.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("link_id", "day"),
    )
    op.create_table(
        "campaign_click_minute",
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("human_clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "minute"),
    )
    op.create_table(
        "page_event_fold",
        sa.Column("page_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("page_id", "campaign_id", "kind", "contact_id"),
    )
    op.create_index("ix_page_event_fold_campaign", "page_event_fold", ["campaign_id", "kind"])


def downgrade() -> None:
    folded = op.get_bind().execute(sa.text("SELECT count(*) FROM click_day")).scalar_one()
    if folded:
        raise RuntimeError(
            "clicks were folded into click_day by the event retention: going below 0033 "
            "would drop them from every figure; restore a backup taken before instead"
        )
    op.drop_index("ix_page_event_fold_campaign", table_name="page_event_fold")
    op.drop_table("page_event_fold")
    op.drop_table("campaign_click_minute")
    op.drop_table("click_day")
