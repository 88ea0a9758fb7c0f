"""PostgreSQL's click log is partitioned by month: migration 0035 moves the clicks already
stored into their months (and back on downgrade), the click writer stores a click of any
moment, and the retention creates the months ahead and drops a month it folded whole.
SQLite keeps one plain table through the same steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, col

from richsms.migrate import downgrade, upgrade
from sender.results.retention import prune_events
from shortener.anonymize import IpAnonymizer
from shortener.click_partitions import create_months_ahead, is_partitioned
from shortener.clicks import ClickEvent, ClickStore
from shortener.models import Click

MOMENTS = [datetime(2025, 1, 15, 10, tzinfo=UTC) + timedelta(days=40 * n) for n in range(6)]


def _clicks(engine: Engine) -> list[tuple[int, datetime]]:
    with Session(engine) as session:
        rows = session.execute(select(col(Click.id), col(Click.clicked_at)).order_by(col(Click.id)))
        return [(int(i), at) for i, at in rows.all()]


def _months(engine: Engine) -> dict[str, int]:
    """Rows in each partition of the click log (PostgreSQL)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tableoid::regclass::text, count(*) FROM click GROUP BY 1"))
        return {str(name): int(n) for name, n in rows.all()}


def _write(engine: Engine, moments: list[datetime]) -> None:
    store = ClickStore(engine, IpAnonymizer("truncate", "k"))
    store.write([ClickEvent(1, None, at, "GET", "ua", "", "198.51.100.7") for at in moments])
    store.close()


def test_the_migration_moves_stored_clicks_into_their_months_and_back(engine: Engine) -> None:
    downgrade(engine, "0034")
    assert not is_partitioned(engine)
    _write(engine, MOMENTS)
    stored = _clicks(engine)
    upgrade(engine)
    assert _clicks(engine) == stored
    partitioned = engine.dialect.name == "postgresql"
    assert is_partitioned(engine) == partitioned
    if partitioned:
        assert _months(engine) == {f"click_p{at:%Y%m}": 1 for at in MOMENTS}
    # A click in a month with no partition yet lands in the default one; the ids go on.
    _write(engine, [datetime(2031, 3, 1, tzinfo=UTC)])
    after = _clicks(engine)
    assert after[:-1] == stored and after[-1][0] == stored[-1][0] + 1
    if partitioned:
        assert _months(engine)["click_default"] == 1
    downgrade(engine, "0034")
    assert _clicks(engine) == after and not is_partitioned(engine)
    upgrade(engine)
    assert _clicks(engine) == after


def test_the_retention_creates_months_ahead_and_drops_a_month_folded_whole(
    engine: Engine,
) -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    old = datetime(2019, 3, 10, tzinfo=UTC)  # months no other test creates
    created = create_months_ahead(engine, old)
    partitioned = engine.dialect.name == "postgresql"
    months = ["click_p201903", "click_p201904", "click_p201905"]
    assert created == (months if partitioned else [])
    create_months_ahead(engine, now)  # as the chore did before these clicks
    _write(engine, [old, now - timedelta(days=3)])
    pruned = prune_events(engine=engine, now=now, retention_days=395)
    assert pruned.clicks_deleted == 1
    if partitioned:
        # The months folded whole are gone; this one and the next two are there.
        assert set(months) <= set(pruned.partitions_dropped)
        with engine.connect() as conn:
            names = set(conn.execute(text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'click'::regclass")).scalars())  # fmt: skip
        assert not set(months) & names
        assert {"click_p202611", "click_p202612", "click_p202701"} <= names
    else:
        assert pruned.partitions_created == pruned.partitions_dropped == []
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Click)).scalar_one() == 1
