"""bilingual campaigns and sending by country: a campaign's language, translations,
sender numbers and default sender, its exclusions by reason; a sender number's country
and opt-out mentions; a message's language; a contact without a language

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="fr")
        )
        batch.add_column(
            sa.Column("translations", sa.JSON(), nullable=False, server_default="{}")
        )
        batch.add_column(sa.Column("sender_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("default_sender_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("exclusions", sa.JSON(), nullable=False, server_default="{}"))
        batch.create_foreign_key(
            "fk_campaign_default_sender_id", "sender_number", ["default_sender_id"], ["id"]
        )
    # A campaign sent from one number sends from a one-number list.
    op.execute(
        "UPDATE campaign SET sender_ids = "
        + ("json_build_array(sender_id)" if _postgres() else "json_array(sender_id)")
        + " WHERE sender_id IS NOT NULL"
    )
    with op.batch_alter_table("sender_number") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("opt_out", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("contact") as batch:
        batch.alter_column("language", existing_type=sa.String(length=8), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE contact SET language = 'en' WHERE language IS NULL")
    with op.batch_alter_table("contact") as batch:
        batch.alter_column("language", existing_type=sa.String(length=8), nullable=False)
    with op.batch_alter_table("message") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("sender_number") as batch:
        batch.drop_column("opt_out")
        batch.drop_column("country")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_constraint("fk_campaign_default_sender_id", type_="foreignkey")
        batch.drop_column("exclusions")
        batch.drop_column("default_sender_id")
        batch.drop_column("sender_ids")
        batch.drop_column("translations")
        batch.drop_column("language")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
