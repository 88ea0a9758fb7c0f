"""the inbox: a reply left for a person is answered or closed (who, when, the answer)

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from richsms.types import UTCDateTime

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("handled_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("handled_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answer_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("answer_message_id")
        batch.drop_column("handled_by")
        batch.drop_column("handled_at")
