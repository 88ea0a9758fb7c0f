"""instants written by planning on SQLite spelled as SQLAlchemy spells them

Planning wrote its rows through the driver's own adapter, which writes a whole second as
"2026-12-01 12:00:00" where SQLAlchemy writes "2026-12-01 12:00:00.000000": on SQLite,
where instants are text, the two never compared equal. Planning now binds them as
SQLAlchemy does; this gives the rows already written the same spelling.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# The instants of the tables planning writes.
COLUMNS = {
    "link": ("expires_at", "disabled_at", "created_at"),
    "message": (
        "due_at", "planned_at", "queued_at", "sending_at", "sent_at", "delivered_at",
        "undelivered_at", "failed_at", "expired_at", "unknown_at",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a real timestamp type elsewhere: nothing was spelled
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(
                f"UPDATE {table} SET {column} = {column} || '.000000' "
                f"WHERE length({column}) = 19"
            )


def downgrade() -> None:
    pass  # both spellings read back the same
