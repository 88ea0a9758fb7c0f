"""PostgreSQL: the click log is partitioned by month of `clicked_at` (migration 0035), so
the retention's deletions and the indexes stay within months, and a month folded whole
is dropped as a table instead of vacuumed row by row. SQLite keeps one plain table.

Months are created ahead (this one and the next two) by the retention's chore; a click
in a month that has no partition yet lands in `click_default`, so an insert never fails.
Each DDL statement waits at most LOCK_TIMEOUT for its lock on the click log: a redirect's
click writer is never queued behind it for longer; a month missed is tried the next hour.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("richsms.click_partitions")

AHEAD = 2  # months created beyond the current one
LOCK_TIMEOUT = "200ms"
_NAME = "click_p{year:04d}{month:02d}"


def month_start(moment: datetime, months_later: int = 0) -> datetime:
    """The UTC midnight that starts `moment`'s month, `months_later` months on."""
    moment = moment.astimezone(UTC)
    index = moment.year * 12 + moment.month - 1 + months_later
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return _NAME.format(year=start.year, month=start.month)


def create_partition_sql(start: datetime) -> str:
    """The statement that creates the month starting at `start` (migration and chore)."""
    end = month_start(start, 1)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(start)} PARTITION OF click "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def _partitions(engine: Engine) -> dict[str, str]:
    """Each partition of the click log and its bound, as PostgreSQL spells it."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'click'::regclass"
            )
        ).all()
    return {str(name): str(bound) for name, bound in rows}


def is_partitioned(engine: Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = 'click'::regclass"))
        return str(kind.scalar_one()) == "p"


def create_months_ahead(engine: Engine, now: datetime, ahead: int = AHEAD) -> list[str]:
    """Create this month's partition and the next `ahead` ones where missing; the names
    created. Nothing on SQLite."""
    if not is_partitioned(engine):
        return []
    existing = _partitions(engine)
    created = []
    for offset in range(ahead + 1):
        start = month_start(now, offset)
        if partition_name(start) in existing:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text(create_partition_sql(start)))
        except DBAPIError as exc:  # a lock not had in time, rows of it in the default
            log.warning("could not create %s: %s", partition_name(start), exc.orig)
            continue
        created.append(partition_name(start))
    return created


def drop_empty_months(engine: Engine, before: datetime) -> list[str]:
    """Drop the monthly partitions that end by `before` and hold no row any more (the
    retention folded and deleted them); the names dropped. Nothing on SQLite."""
    if not is_partitioned(engine):
        return []
    dropped = []
    for name in sorted(_partitions(engine)):
        if not name.startswith("click_p") or len(name) != len("click_p202612"):
            continue  # the default partition, or not one of ours
        start = datetime(int(name[7:11]), int(name[11:13]), 1, tzinfo=UTC)
        if month_start(start, 1) > before:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                conn.execute(text(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
                if conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first() is not None:
                    continue
                conn.execute(text(f"DROP TABLE {name}"))
        except DBAPIError as exc:
            log.warning("could not drop %s: %s", name, exc.orig)
            continue
        dropped.append(name)
    return dropped
