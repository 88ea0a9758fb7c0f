"""the outbox's index on provider_id: nothing reads it (receipts find a message through
message_part), and every accepted answer wrote it

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_index("ix_message_provider_id")


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.create_index("ix_message_provider_id", ["provider_id"])
