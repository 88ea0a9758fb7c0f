"""coupons, pools and redemptions

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupon_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "coupon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=True),
        sa.Column("page_id", sa.Integer(), nullable=True),
        sa.Column("block_id", sa.String(length=64), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", richsms.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", richsms.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_by", sa.String(length=200), nullable=True),
        sa.Column("redeemed_location", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["pool_id"], ["coupon_pool.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("page_id", "block_id", "contact_id", name="uq_coupon_recipient"),
    )
    op.create_index("ix_coupon_campaign_id", "coupon", ["campaign_id"], unique=False)
    op.create_index(
        "ix_coupon_pool_free",
        "coupon",
        ["pool_id", "id"],
        unique=False,
        sqlite_where=sa.text("assigned_at IS NULL"),
        postgresql_where=sa.text("assigned_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_coupon_pool_free", table_name="coupon")
    op.drop_index("ix_coupon_campaign_id", table_name="coupon")
    op.drop_table("coupon")
    op.drop_table("coupon_pool")
