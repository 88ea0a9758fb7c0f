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
