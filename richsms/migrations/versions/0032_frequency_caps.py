"""frequency caps: a campaign's own cap; the outbox's contact index also serves the cap
(a contact's messages by type and due time)

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("frequency_cap", sa.JSON(), server_default='"account"', nullable=False)
        )
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_contact_id")
        batch.create_index("ix_message_contact_type", ["contact_id", "type", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_contact_type")
        batch.create_index("ix_message_contact_id", ["contact_id"])
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("frequency_cap")
