"""Durable click recording with group commit.

A redirect waits until its click is committed. Clicks arriving in the same event-loop
iteration join one batch; one writer thread with its own connection commits a batch while
the next one fills; every request of a batch waits on one shared future, resolved with a
single `call_soon_threadsafe`. Durability then costs one commit per batch, not per click.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from shortener.anonymize import IpAnonymizer, referrer_origin
from shortener.bots import is_bot

log = logging.getLogger("richsms.clicks")


@dataclass(frozen=True, slots=True)
class ClickEvent:
    """A click as the redirect saw it, before anonymization."""

    link_id: int
    contact_id: int | None
    at: datetime
    method: str
    user_agent: str
    referrer: str
    client_ip: str


class ClickStore:
    """Inserts and commits batches of clicks on one DBAPI connection (one thread only)."""

    def __init__(self, engine: Engine, anonymize: IpAnonymizer, durability: str = "crash") -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {DURABILITY}")
        self._engine = engine
        self._anonymize = anonymize
        self._durability = durability
        self._sqlite = engine.dialect.name == "sqlite"
        columns = (
            "link_id, contact_id, clicked_at, method, is_bot, user_agent, referrer, ip, visitor"
        )
        if self._sqlite:
            self._sql = f"INSERT INTO click ({columns}) VALUES ({', '.join(['?'] * 9)})"
        else:
            # One statement per batch: in autocommit it is its own transaction, so a batch
            # costs one round trip instead of a pipeline plus a COMMIT.
            self._sql = (
                f"INSERT INTO click ({columns}) SELECT * FROM unnest(%s::int[], %s::int[],"
                " %s::timestamptz[], %s::text[], %s::bool[], %s::text[], %s::text[],"
                " %s::text[], %s::text[])"
            )
        self._conn: Any = None

    def _connect(self) -> Any:
        conn = self._engine.raw_connection()
        conn.detach()  # ours for good, with settings no pooled session should inherit
        cursor = conn.cursor()
        if self._sqlite:
            # Checkpoints copy the WAL into the database and sync it: the runtime
            # (richsms/runtime.py) runs them on a connection of its own, so that no
            # batch ever waits for one.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            if self._durability == "power":
                cursor.execute("PRAGMA synchronous=FULL")
        else:
            driver: Any = conn.dbapi_connection
            driver.autocommit = True
            if self._durability == "crash":
                # Committed and visible at once, flushed by PostgreSQL's WAL writer within
                # milliseconds: survives our crash (the promise), like SQLite's NORMAL.
                cursor.execute("SET synchronous_commit = off")
        cursor.close()
        return conn

    def write(self, events: list[ClickEvent]) -> None:
        if self._conn is None:
            self._conn = self._connect()
        rows = [self._row(e) for e in events]
        try:
            cursor = self._conn.cursor()
            if self._sqlite:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.executemany(self._sql, rows)
                cursor.execute("COMMIT")
            else:
                cursor.execute(self._sql, [list(column) for column in zip(*rows, strict=True)])
            cursor.close()
        except BaseException:
            self._drop_connection()
            raise

    def _row(self, e: ClickEvent) -> tuple[object, ...]:
        ip = self._anonymize(e.client_ip)
        ua = e.user_agent[:512]
        at = e.at.astimezone(UTC)
        visitor = self._anonymize.visitor(ip, ua, at.date().isoformat())
        # The text SQLAlchemy's SQLite DateTime reads back; isoformat is the fast way to it.
        stamp: object = (
            at.replace(tzinfo=None).isoformat(" ", "microseconds") if self._sqlite else at
        )
        return (
            e.link_id,
            e.contact_id,
            stamp,
            e.method,
            is_bot(e.method, ua),
            ua,
            referrer_origin(e.referrer[:1024]),
            ip,
            visitor,
        )

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
                conn.close()
            except Exception:  # the connection is already broken; a new one comes next
                log.debug("closing a failed click connection", exc_info=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_STOP = object()
# "crash": a stored click survives a crash of richsms; "power": also a crash of the host.
DURABILITY = ("crash", "power")


class _Batch(asyncio.Future[None]):
    """The future a whole batch waits on. A cancelled request must not cancel it for the
    others: refusing `cancel` makes the cancelled request wait for the commit, then end."""

    def cancel(self, msg: Any = None) -> bool:
        return False


class ClickWriter:
    """The asyncio side of group commit. Create and use it on one event loop."""

    def __init__(self, store: ClickStore) -> None:
        self._store = store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[ClickEvent] = []
        self._pending_done: asyncio.Future[None] | None = None
        self._in_flight = False
        self._writing = 0  # clicks of the batch being committed
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._idle: asyncio.Event | None = None
        self.batches = 0
        self.written = 0

    @property
    def waiting(self) -> int:
        """Clicks accepted and not committed yet: their redirects are waiting."""
        return len(self._pending) + self._writing

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="click-writer", daemon=True)
        self._thread.start()

    async def record(self, event: ClickEvent) -> None:
        """Returns once `event` is committed; raises if its batch failed to commit."""
        loop = self._loop
        assert loop is not None, "ClickWriter.start() was not called"
        done = self._pending_done
        if done is None:
            done = self._pending_done = _Batch(loop=loop)
            assert self._idle is not None
            self._idle.clear()
            if not self._in_flight:
                loop.call_soon(self._flush)
        self._pending.append(event)
        await done

    def _flush(self) -> None:
        if self._in_flight or not self._pending:
            return
        batch, done = self._pending, self._pending_done
        self._pending, self._pending_done = [], None
        self._in_flight = True
        self._writing = len(batch)
        self._jobs.put((batch, done))

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                self._store.close()
                return
            batch, done = job
            error: BaseException | None = None
            try:
                self._store.write(batch)
            except Exception as exc:
                log.exception("failed to commit %d clicks", len(batch))
                error = exc
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._finished, done, len(batch), error)
            except RuntimeError:  # the loop closed under us: nobody is waiting any more
                return

    def _finished(
        self, done: asyncio.Future[None], count: int, error: BaseException | None
    ) -> None:
        self._in_flight = False
        self._writing = 0
        self.batches += 1
        if error is None:
            self.written += count
            done.set_result(None)
        else:
            done.set_exception(error)
        if self._pending:
            self._flush()
        elif self._idle is not None:
            self._idle.set()

    async def close(self) -> None:
        """Commit everything accepted so far, then stop the thread."""
        if self._idle is not None:
            await self._idle.wait()
        self._jobs.put(_STOP)
        thread = self._thread
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
