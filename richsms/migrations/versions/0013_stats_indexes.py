"""indexes for a campaign's results: states per campaign, messages by link, clicks
covering what the aggregates read

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Index-only counts of a campaign's states and segments.
    op.create_index(
        "ix_message_campaign_state", "message", ["campaign_id", "is_test", "state", "segments"]
    )
    # From a link (a click) to its message: reading delay, erasure, history.
    op.create_index("ix_message_link", "message", ["link_id"])
    # The click log keeps one index: the same leading columns, now covering the
    # aggregates (bot flag, contact), so a click costs no extra index to write.
    op.drop_index("ix_click_link_time", table_name="click")
    op.create_index(
        "ix_click_link_time", "click", ["link_id", "clicked_at", "is_bot", "contact_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_click_link_time", table_name="click")
    op.create_index("ix_click_link_time", "click", ["link_id", "clicked_at"])
    op.drop_index("ix_message_link", table_name="message")
    op.drop_index("ix_message_campaign_state", table_name="message")
