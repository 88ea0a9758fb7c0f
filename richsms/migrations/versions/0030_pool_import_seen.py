"""when a coupon pool's import last stored codes: abandoned imports are removed

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from richsms.types import UTCDateTime

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coupon_pool") as batch:
        batch.add_column(sa.Column("import_seen_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("coupon_pool") as batch:
        batch.drop_column("import_seen_at")
