"""Sessions: a reading session never takes SQLite's write lock; a unit of work does."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from richsms.db import make_engine, read_session, session_scope


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: the write lock is SQLite's (PostgreSQL locks rows)."""
    path = tmp_path / "db.sqlite"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def write_elsewhere(engine: Engine) -> None:
    """A write from another connection that gives up at once if the lock is taken."""
    path = engine.url.database
    assert path is not None
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO link_change (link_id, changed_at) VALUES (1, '2026-01-01')")
        other.execute("COMMIT")
    finally:
        other.close()


def test_a_long_read_leaves_the_write_lock_free(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with read_session(engine) as session:
        session.execute(text("SELECT count(*) FROM contact")).scalar()
        write_elsewhere(engine)  # would raise "database is locked" under BEGIN IMMEDIATE
        assert session.execute(text("SELECT count(*) FROM link_change")).scalar() == 0
    with read_session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM link_change")).scalar() == 1


def test_a_unit_of_work_holds_the_write_lock_from_its_start(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with session_scope(engine) as session:
        session.execute(text("SELECT count(*) FROM contact")).scalar()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            write_elsewhere(engine)
