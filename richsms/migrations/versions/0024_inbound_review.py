"""inbound messages whose sender's number cannot be read are kept for review

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("review", sa.String(length=200), nullable=True))
        batch.create_index("ix_inbound_message_review", ["review"])


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_index("ix_inbound_message_review")
        batch.drop_column("review")
