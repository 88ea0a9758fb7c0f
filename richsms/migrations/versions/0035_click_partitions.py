"""PostgreSQL: the click log partitioned by month of clicked_at (existing clicks moved
into their months, a default partition for a month not created yet); SQLite unchanged

The primary key becomes (id, clicked_at), as a partitioned table's must include the
partition key; ids keep coming from the same sequence. Upgrading copies every click once
(minutes for tens of millions: run it in a maintenance window); so does downgrading.

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shortener.click_partitions import AHEAD, create_partition_sql, month_start

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

COLUMNS = "id, link_id, contact_id, clicked_at, method, is_bot, user_agent, referrer, ip, visitor"
_TABLE = """
CREATE TABLE click (
    id BIGINT NOT NULL DEFAULT nextval('click_id_seq'),
    link_id INTEGER NOT NULL,
    contact_id INTEGER,
    clicked_at TIMESTAMP WITH TIME ZONE NOT NULL,
    method VARCHAR(8) NOT NULL,
    is_bot BOOLEAN NOT NULL,
    user_agent VARCHAR(512) NOT NULL,
    referrer VARCHAR(1024) NOT NULL,
    ip VARCHAR(64) NOT NULL,
    visitor VARCHAR(32) NOT NULL,
    {key}
){partitioned}
"""


def _replace_click(partitioned: bool) -> None:
    """Rename the click log aside, create the new one, copy, drop the old one."""
    run = op.execute
    run("ALTER SEQUENCE click_id_seq OWNED BY NONE")
    run("ALTER TABLE click RENAME TO click_before")
    run("ALTER INDEX ix_click_link_time RENAME TO ix_click_link_time_before")
    run("ALTER TABLE click_before RENAME CONSTRAINT click_pkey TO click_before_pkey")
    if partitioned:
        run(_TABLE.format(key="PRIMARY KEY (id, clicked_at)",
                          partitioned=" PARTITION BY RANGE (clicked_at)"))  # fmt: skip
        run("CREATE TABLE click_default PARTITION OF click DEFAULT")
        first = op.get_bind().execute(sa.text("SELECT min(clicked_at) FROM click_before"))
        oldest = first.scalar_one() or datetime.now(UTC)
        month, last = month_start(oldest), month_start(datetime.now(UTC), AHEAD)
        while month <= last:
            run(create_partition_sql(month))
            month = month_start(month, 1)
    else:
        run(_TABLE.format(key="PRIMARY KEY (id)", partitioned=""))
    run(f"INSERT INTO click ({COLUMNS}) SELECT {COLUMNS} FROM click_before")
    run("CREATE INDEX ix_click_link_time ON click (link_id, clicked_at, is_bot, contact_id)")
    run("DROP TABLE click_before")
    run("ALTER SEQUENCE click_id_seq OWNED BY click.id")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_click(partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace_click(partitioned=False)
