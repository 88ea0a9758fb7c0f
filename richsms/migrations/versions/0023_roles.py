"""roles (a user's, carried by their API tokens), server-side sessions, sign-in delays

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import richsms.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failure",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("signin_failure") as batch:
        batch.create_index("ix_signin_failure_last_failed_at", ["last_failed_at"])
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("nonce_digest", sa.String(length=64), nullable=False),
        sa.Column("started_at", richsms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", richsms.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["admin_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce_digest"),
    )
    with op.batch_alter_table("user_session") as batch:
        batch.create_index("ix_user_session_user_id", ["user_id"])
    # Every account so far could do everything: each stays an administrator.
    with op.batch_alter_table("admin_user") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=16), server_default="admin", nullable=False)
        )
    # Tokens so far belong to nobody: an administrator's, as `token create NAME` makes.
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_index("ix_api_token_user_id", ["user_id"])
        batch.create_foreign_key("fk_api_token_user_id", "admin_user", ["user_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_constraint("fk_api_token_user_id", type_="foreignkey")
        batch.drop_index("ix_api_token_user_id")
        batch.drop_column("user_id")
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("role")
    op.drop_table("user_session")
    op.drop_table("signin_failure")
