"""The database engine and sessions: SQLite (WAL) by default, PostgreSQL for scale."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

log = logging.getLogger("richsms.db")


def normalize_url(url: str) -> URL:
    """Accept `postgresql://` as users write it and drive it with psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, **options: Any) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **options)


READ_ONLY = "richsms_read_only"


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling defers BEGIN; issue it ourselves so that a
    # transaction that will write takes the write lock up front (no upgrade deadlocks),
    # while a read-only one takes no lock at all: in WAL mode readers never wait for the
    # writer, and a long read (a list, an export, an audience) never stalls the clicks.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading only, never committed: on SQLite it holds no write
    lock however long it runs. Never write through it: on SQLite the write would have to
    upgrade a deferred transaction, which fails when another writer got there first.
    On PostgreSQL it is an ordinary session."""
    bind = engine.execution_options(**{READ_ONLY: True})
    # Closing ends the transaction without a commit, and (unlike a rollback) leaves what
    # was read loaded: the objects can be used after the block.
    with Session(bind, expire_on_commit=False) as session:
        yield session


def checkpoint_wal(engine: Engine, stop: threading.Event, interval: float = 1.0) -> None:
    """Move SQLite's WAL into the database file every `interval` seconds until `stop`, on a
    connection of its own, so that the writers who turned automatic checkpoints off (the
    click writer) never pay for one mid-commit. The runtime runs it in a thread."""
    conn = engine.raw_connection()
    try:
        while not stop.wait(interval):
            try:
                conn.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:
                log.exception("WAL checkpoint failed; trying again")
    finally:
        conn.close()


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
