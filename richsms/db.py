"""The database engine and sessions: SQLite (WAL) by default, PostgreSQL for scale."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

from richsms import write_watch
from richsms.errors import NotFound
from richsms.write_watch import WriteWatch

log = logging.getLogger("richsms.db")


def normalize_url(url: str) -> URL:
    """Accept `postgresql://` as users write it and drive it with psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, **options: Any) -> Engine:
    """The engine of `url`; every write transaction it runs is measured (see
    `richsms.write_watch`, whose budget `write_watch(engine).budget_ms` is)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(parsed, pool_pre_ping=True, **options)
    write_watch.install(engine, WriteWatch())
    return engine


READ_ONLY = "richsms_read_only"
LOCK_AT_FIRST_WRITE = "richsms_lock_at_first_write"


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling defers BEGIN; issue it ourselves so that a
    # transaction that will write takes the write lock up front (no upgrade deadlocks),
    # while a read-only one takes no lock at all: in WAL mode readers never wait for the
    # writer, and a long read (a list, an export, an audience) never stalls the clicks.
    # A unit of work that reads first (LOCK_AT_FIRST_WRITE) reads without a lock, and its
    # first write ends that read and takes the lock in a new transaction (never an
    # upgrade, which fails when another writer committed since the read began).
    write_watch.forget(conn)
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # asked for no transaction: each statement commits as it runs
    if options.get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    elif options.get(LOCK_AT_FIRST_WRITE):
        conn.exec_driver_sql("BEGIN")
        conn.info[write_watch.UPGRADE] = _take_write_lock
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        write_watch.started(conn)


def _take_write_lock(conn: Connection) -> None:
    conn.info.pop(write_watch.UPGRADE, None)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("COMMIT")  # the reads so far: nothing written, nothing to keep
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine, *, lock_at_first_write: bool = False) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises.

    On SQLite it holds the write lock from its start, so that what it reads cannot change
    before it writes. With `lock_at_first_write` its transactions read without the lock
    and take it at their first write (as on PostgreSQL, where a read never locks): what
    was read before may have changed since, as under PostgreSQL's READ COMMITTED; a read
    that must not change until the write is a `SELECT … FOR UPDATE`, which counts as the
    first write. The edge's units of work (`AppContext.in_session`) are of this kind: a
    request that only reads, or computes before it writes, never holds the lock meanwhile."""
    bind = engine.execution_options(**{LOCK_AT_FIRST_WRITE: lock_at_first_write})
    with Session(bind, expire_on_commit=False) as session:
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


_Row = TypeVar("_Row")


def get_or_not_found(
    session: Session, model: type[_Row], key: object, message: str, *, for_update: bool = False
) -> _Row:
    """The row of `model` whose primary key is `key` (locked `for_update`), or NotFound
    saying `message`."""
    row = session.get(model, key, with_for_update=True if for_update else None)
    if row is None:
        raise NotFound(message)
    return row


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


def upsert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which takes ON CONFLICT (SQLite's and PostgreSQL's alike),
    into a model's table as Core sees it (an ORM insert reports no rowcount on PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = getattr(table, "__table__", table)
    # An INSERT's rowcount is kept for the caller only when asked (its cursor is closed).
    options = {"preserve_rowcount": True}
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(table).execution_options(**options)
    return postgresql.insert(table).execution_options(**options)


def affected(result: Any) -> int:
    """The rows an INSERT, UPDATE or DELETE touched (0 when the driver cannot tell)."""
    return max(int(getattr(result, "rowcount", 0) or 0), 0)
