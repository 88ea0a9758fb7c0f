"""suppression list: salted digests of the numbers of erased contacts who had opted out

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressed_phone",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(  # one row, drawn on first use (sender/suppression.py)
        "suppression_salt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("suppression_salt")
    op.drop_table("suppressed_phone")
