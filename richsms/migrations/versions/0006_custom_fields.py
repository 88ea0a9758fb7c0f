"""known custom fields, kept current by imports

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The bounds `sender.custom_fields` enforces from now on.
_MAX_FIELDS = 200
_MAX_NAME = 64


def upgrade() -> None:
    op.create_table(
        "custom_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=_MAX_NAME), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    # The fields contacts already have, once, so that templates using them stay valid.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        keys = "SELECT DISTINCT jsonb_object_keys(fields::jsonb) AS k FROM contact"
    else:
        keys = "SELECT DISTINCT j.key AS k FROM contact, json_each(contact.fields) AS j"
    names = [str(row[0]) for row in bind.execute(sa.text(keys))]
    names = sorted(name for name in names if 0 < len(name) <= _MAX_NAME)[:_MAX_FIELDS]
    if names:
        table = sa.table("custom_field", sa.column("name", sa.String))
        op.bulk_insert(table, [{"name": name} for name in names])


def downgrade() -> None:
    op.drop_table("custom_field")
