"""reply choices on campaigns and automations, and the replies matched to them

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from richsms.types import UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("campaign", "automation"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("choices", sa.JSON(), nullable=False, server_default="{}"))
            batch.add_column(sa.Column("unmatched", sa.Text(), nullable=True))
    op.create_table(
        "choice_reply",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("automation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("choice", sa.String(length=32), nullable=True),
        sa.Column("reply_message_id", sa.BigInteger(), nullable=True),
        sa.Column("follow_up_message_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_id"),
    )
    op.create_index(
        "ix_choice_reply_campaign", "choice_reply", ["campaign_id", "contact_id", "id"]
    )
    op.create_index(
        "ix_choice_reply_automation", "choice_reply", ["automation_id", "contact_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("choice_reply")
    for table in ("automation", "campaign"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("unmatched")
            batch.drop_column("choices")
