from __future__ import annotations

from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from richsms import models  # noqa: F401
from richsms.migrate import downgrade, upgrade


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
