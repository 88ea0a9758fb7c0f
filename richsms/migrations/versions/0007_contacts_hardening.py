"""contacts, inbound attribution and hardening

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("action", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("reply_message_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_inbound_message_campaign_id", ["campaign_id"])


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_index("ix_inbound_message_campaign_id")
        batch.drop_column("reply_message_id")
        batch.drop_column("action")
        batch.drop_column("message_id")
