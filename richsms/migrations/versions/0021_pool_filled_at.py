"""a coupon pool is shown once its import stored its last code (filled_at)

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coupon_pool") as batch:
        batch.add_column(
            sa.Column("filled_at", richsms.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE coupon_pool SET filled_at = created_at")


def downgrade() -> None:
    op.execute(
        "DELETE FROM coupon WHERE pool_id IN (SELECT id FROM coupon_pool WHERE filled_at IS NULL)"
    )
    op.execute("DELETE FROM coupon_pool WHERE filled_at IS NULL")
    with op.batch_alter_table("coupon_pool") as batch:
        batch.drop_column("filled_at")
