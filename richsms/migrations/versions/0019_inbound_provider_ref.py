"""inbound messages keep the provider's id (or a digest): a retried or replayed one acts once

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("provider_ref", sa.String(length=120), nullable=True))
        batch.create_unique_constraint("uq_inbound_message_provider_ref", ["provider_ref"])


def downgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_constraint("uq_inbound_message_provider_ref", type_="unique")
        batch.drop_column("provider_ref")
