"""How long each write transaction holds the database: the engine records every one.

A write transaction starts at its first write (an INSERT, UPDATE, DELETE, a SAVEPOINT, a
`SELECT … FOR UPDATE`), or on SQLite at `BEGIN IMMEDIATE`, which takes the write lock
up front; it ends at its commit or rollback. On SQLite the write lock is held for exactly
that long and every other writer (clicks, sends, replies) waits meanwhile; on PostgreSQL
the rows it wrote stay locked. Both times are kept: `wall_ms`, and `cpu_ms`, what the
thread holding the transaction computed meanwhile (the database's own work on SQLite, and
any rendering, parsing or planning done inside the lock, which is what must not happen).

A transaction over the budget (`RICHSMS_WRITE_BUDGET_MS`) is logged with the statement
that opened it; `WriteWatch.listen` lets a caller (the test suite's lock watchdog) see
every transaction.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, event

log = logging.getLogger("richsms.write_watch")

DEFAULT_BUDGET_MS = 100.0
_STATE = "richsms_write_started"
_FIRST = re.compile(r"\s*(\w+)")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# Statements that write nothing: reads, and a transaction's own begin and end.
_READS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "VALUES", "BEGIN", "COMMIT", "ROLLBACK", "END"})


@dataclass(frozen=True, slots=True)
class WriteTransaction:
    opened_by: str
    """The statement that opened it (cut to 200 characters)."""
    wall_ms: float
    cpu_ms: float
    """CPU time of the thread holding it, meanwhile."""
    committed: bool

    def over(self, budget_ms: float) -> bool:
        return max(self.wall_ms, self.cpu_ms) > budget_ms


Listener = Callable[[WriteTransaction], None]


class WriteWatch:
    """One engine's write transactions, measured as they end."""

    def __init__(self, budget_ms: float = DEFAULT_BUDGET_MS) -> None:
        self.budget_ms = budget_ms
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._exempt = 0

    @contextmanager
    def exempt(self) -> Iterator[None]:
        """Within the block, no transaction is held to the budget: a migration's DDL is no
        request, runs before any is served, and takes as long as the schema change takes."""
        with self._lock:
            self._exempt += 1
        try:
            yield
        finally:
            with self._lock:
                self._exempt -= 1

    @contextmanager
    def listen(self, listener: Listener) -> Iterator[None]:
        """`listener` called with every write transaction that ends within the block."""
        with self._lock:
            self._listeners = [*self._listeners, listener]
        try:
            yield
        finally:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

    def ended(self, transaction: WriteTransaction) -> None:
        if not self._exempt and transaction.over(self.budget_ms):
            log.warning(
                "a write transaction held the database %.0f ms (%.0f ms CPU; budget %.0f ms),"
                " opened by %s",
                transaction.wall_ms,
                transaction.cpu_ms,
                self.budget_ms,
                transaction.opened_by,
            )
        for listener in self._listeners:
            listener(transaction)


_WATCHES: WeakKeyDictionary[Engine, WriteWatch] = WeakKeyDictionary()


def write_watch(engine: Engine) -> WriteWatch:
    """The watch `make_engine` installed on `engine`."""
    return _WATCHES[engine]


def exempt(engine: Engine) -> AbstractContextManager[None]:
    """`engine`'s watch exempted for a block (`WriteWatch.exempt`); nothing to exempt on an
    engine `make_engine` did not make."""
    watch = _WATCHES.get(engine)
    return watch.exempt() if watch is not None else nullcontext()


def is_write(statement: str, context: Any) -> bool:
    """Whether `statement` writes, or locks what it reads for a write to come."""
    compiled = getattr(context, "compiled", None)
    if getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None:
        return True
    first = _FIRST.match(statement)
    word = first.group(1).upper() if first else ""
    if word == "WITH":
        return _WRITE_WORD.search(statement) is not None
    return word not in _READS


def install(engine: Engine, watch: WriteWatch) -> None:
    """Measure `engine`'s write transactions into `watch`."""
    _WATCHES[engine] = watch
    event.listen(engine, "before_cursor_execute", _before_execute)
    event.listen(engine, "commit", lambda conn: _end(watch, conn, committed=True))
    event.listen(engine, "rollback", lambda conn: _end(watch, conn, committed=False))


def started(conn: Connection, opened_by: str | None = None) -> None:
    """The write transaction of `conn` starts now (SQLite: right after `BEGIN IMMEDIATE`)."""
    conn.info[_STATE] = [time.perf_counter(), time.thread_time(), opened_by]


def writing(conn: Connection) -> bool:
    return _STATE in conn.info


def forget(conn: Connection) -> None:
    conn.info.pop(_STATE, None)


def _before_execute(
    conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    state = conn.info.get(_STATE)
    if state is not None:
        if state[2] is None:
            state[2] = statement[:200]
    elif is_write(statement, context):
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # each statement its own transaction, ended with it: nothing held
        upgrade: Callable[[Connection], None] | None = conn.info.get(UPGRADE)
        if upgrade is not None:
            upgrade(conn)
        started(conn, statement[:200])


UPGRADE = "richsms_write_upgrade"
"""Key of `conn.info` holding what to run before a transaction's first write (SQLite's
deferred transactions: take the write lock; see `richsms.db`)."""


def _end(watch: WriteWatch, conn: Connection, *, committed: bool) -> None:
    conn.info.pop(UPGRADE, None)
    state = conn.info.pop(_STATE, None)
    if state is None:
        return
    wall = (time.perf_counter() - state[0]) * 1000
    cpu = (time.thread_time() - state[1]) * 1000
    watch.ended(WriteTransaction(state[2] or "(no statement)", wall, cpu, committed))
