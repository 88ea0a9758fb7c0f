"""The engine's write watch: a transaction over the budget is logged, a migration is not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from richsms.db import make_engine
from richsms.migrate import upgrade
from richsms.write_watch import write_watch


def test_a_write_over_the_budget_is_logged_but_a_migration_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'watched.db'}")
    # Every transaction is over a budget of nothing: what is logged is what is exempt or not.
    write_watch(engine).budget_ms = -1
    with caplog.at_level(logging.WARNING, logger="richsms.write_watch"):
        upgrade(engine)
        assert caplog.records == []
        with engine.begin() as conn:
            conn.execute(text("UPDATE contact SET language = language"))
    [record] = caplog.records
    assert "opened by" in record.getMessage()
    engine.dispose()


def test_an_autocommit_connection_holds_nothing_between_its_statements(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection in autocommit (the worker's handover notes on PostgreSQL) commits each
    statement as it runs: kept open for an hour, it never shows as a write held an hour."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE autocommitted (n INTEGER)")
    write_watch(engine).budget_ms = -1
    ended: list[object] = []
    watch = write_watch(engine)
    with caplog.at_level(logging.WARNING, logger="richsms.write_watch"), watch.listen(
        ended.append
    ):
        kept = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        kept.exec_driver_sql("SET synchronous_commit = off" if engine.dialect.name ==
                             "postgresql" else "PRAGMA cache_size = -2000")  # fmt: skip
        kept.exec_driver_sql("INSERT INTO autocommitted VALUES (1)")
        kept.close()
        with engine.begin() as conn:  # a transaction of its own is still watched
            conn.exec_driver_sql("INSERT INTO autocommitted VALUES (2)")
    assert len(ended) == 1
    [record] = caplog.records
    assert "INSERT INTO autocommitted VALUES (2)" in record.getMessage()
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE autocommitted")
    engine.dispose()
