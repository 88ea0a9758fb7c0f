"""worker heartbeats and the messages a worker is handing over: a dead worker's claims
are taken over (unknown only if they may have reached the provider)

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_lease",
        sa.Column("worker_id", sa.String(length=64), primary_key=True),
        sa.Column("alive_until", richsms.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "message_handover",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
        ),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("message_ids", sa.Text(), nullable=False),
        sa.Column("at", richsms.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_message_handover_worker_id", "message_handover", ["worker_id"])


def downgrade() -> None:
    op.drop_index("ix_message_handover_worker_id", table_name="message_handover")
    op.drop_table("message_handover")
    op.drop_table("worker_lease")
