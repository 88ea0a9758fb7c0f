from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, select
from sqlmodel import SQLModel, col

from richsms import models  # noqa: F401
from richsms.migrate import downgrade, upgrade
from sender.delivery.models import Message
from tests.clock import FrozenClock
from tests.sender.delivery.test_outbox import add


def test_migrations_create_every_table_and_roll_back(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_instants_planning_wrote_before_0017_compare_equal_afterwards(
    engine: Engine, clock: FrozenClock
) -> None:
    """SQLite only (instants are text there): a whole second planning wrote without its
    ".000000" is spelled as SQLAlchemy spells it once migrated."""
    if engine.dialect.name != "sqlite":
        return
    (message_id,) = add(engine, clock)
    downgrade(engine, "0016")
    whole_second = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:  # as the driver's own adapter wrote it
        conn.exec_driver_sql(
            "UPDATE message SET due_at = '2026-12-01 12:00:00', sent_at = NULL WHERE id = ?",
            (message_id,),
        )
    upgrade(engine)
    with engine.connect() as conn:
        found = conn.execute(
            select(col(Message.id)).where(col(Message.due_at) == whole_second)
        ).scalars()
        assert list(found) == [message_id]
        assert conn.execute(select(col(Message.sent_at))).scalar_one() is None
