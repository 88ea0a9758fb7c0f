"""page events keep the link they happened behind (a unitary message's events are its own)

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page_event") as batch:
        batch.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
        batch.create_index("ix_page_event_link_id", ["link_id"])


def downgrade() -> None:
    with op.batch_alter_table("page_event") as batch:
        batch.drop_index("ix_page_event_link_id")
        batch.drop_column("link_id")
