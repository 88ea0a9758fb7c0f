"""A worker's lease on its claims, and what a dead worker's claims become.

A worker claims messages (`sending`, `claimed_by` itself) a batch at a time, and hands
them to its provider a few at a time as the provider's window frees up. If it dies
(SIGKILL, a lost host), its claims must neither be sent twice nor wait forever:

- **Heartbeats.** A live worker writes `worker_lease.alive_until` every `alive_for / 4`.
  A worker whose `alive_until` has passed (by more than the allowed clock skew between
  hosts) is dead, and any other worker's sweep takes its claims over; so a dead
  worker's claims are back in the queue within `alive_for` plus a sweep. A worker that
  could not renew its lease stops handing over (`Lease.holds`) before anyone else may
  take its claims, so a worker cut off from the database never races its successor.
- **Handovers.** Before messages go on the wire, their ids are committed in
  `message_handover` (one row per handful of half a window, not a write per message,
  noted while the handful before is on the wire so the window never waits for it).
  Of a dead worker's claims, those in a handover may have reached the provider: they
  become `unknown` and are never resent; the others surely did not: they are queued
  again, for any worker.
  A handover row is deleted with the answers it was waiting for. A note is one
  statement on a connection of its own (`HandoverNotes`), committed without waiting
  for the disk: it only has to outlive the worker, not a database crash.

On SQLite a single worker runs by design: at its start, every claim left behind is
taken over the same way, without waiting for a lease to run out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from richsms.types import UTCDateTime
from sender.delivery.models import QUEUED, SENDING, Handover, Message, WorkerLease
from sender.delivery.outbox import set_unknown

UNKNOWN_REASON: Final = (
    "its worker ({worker}) stopped after handing it to the provider and before recording "
    "the answer: it may have been sent, so it is never resent automatically"
)

Lost = list[tuple[int, str | None]]  # (message id, the worker that claimed it)


def skew(alive_for: timedelta) -> timedelta:
    """The clock difference between hosts a lease allows for."""
    return min(timedelta(seconds=5), alive_for / 4)


class Lease:
    """A worker's own view of its lease: renewed by `beat`, held while the last renewal
    is recent enough that no other worker may yet take its claims over."""

    def __init__(self, worker_id: str, alive_for: timedelta) -> None:
        self.worker_id = worker_id
        self.alive_for = alive_for
        self._renewed: float | None = None  # time.monotonic() of the last renewal

    @property
    def every(self) -> float:
        """Seconds between heartbeats."""
        return self.alive_for.total_seconds() / 4

    def beat(self, conn: Connection, now: datetime) -> None:
        """Renew the lease (in the caller's transaction; held once it commits)."""
        started = time.monotonic()
        values = {"worker_id": self.worker_id, "alive_until": now + self.alive_for}
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(WorkerLease).values(values)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["worker_id"], set_={"alive_until": values["alive_until"]}
            )
        )
        self._renewed = started  # measured from before the write: never too generous

    def holds(self) -> bool:
        """Whether this worker may still hand messages over: no one can have taken its
        claims yet (renewed within `alive_for` less the allowed skew)."""
        if self._renewed is None:
            return False
        held_for = (self.alive_for - skew(self.alive_for)).total_seconds()
        return time.monotonic() - self._renewed < held_for

    def end(self, conn: Connection) -> None:
        """A worker stopping cleanly gives its lease up (its claims were released)."""
        conn.execute(delete(WorkerLease).where(col(WorkerLease.worker_id) == self.worker_id))
        self._renewed = None


_NOTE = (
    "INSERT INTO message_handover (worker_id, message_ids, at) VALUES ({0}, {0}, {0}) RETURNING id"
)


class HandoverNotes:
    """Where a worker notes its handfuls (the claimed messages going on the wire now),
    each committed before it goes, a few hundred times a second: a connection kept for
    them alone, in autocommit, one statement per note straight on the driver's cursor (no pool
    checkout, BEGIN, COMMIT, nor SQLAlchemy's statement machinery, which cost two to
    three times the round trip itself). On PostgreSQL, `synchronous_commit` is off for
    that connection's session (detached from the pool, so that no other work ever runs
    with that setting); SQLite's WAL commits without waiting for the disk anyway
    (`synchronous=NORMAL`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._cursor: Any = None
        dialect = engine.dialect
        self._sql = _NOTE.format("?" if dialect.paramstyle == "qmark" else "%s")
        self._at = UTCDateTime().bind_processor(dialect) or (lambda at: at)

    def note(self, worker_id: str, ids: Sequence[int], now: datetime) -> int:
        try:
            cursor = self._connect()
            cursor.execute(self._sql, (worker_id, ",".join(map(str, ids)), self._at(now)))
            return int(cursor.fetchone()[0])
        except self.engine.dialect.loaded_dbapi.Error:
            self.close()  # a connection lost: the next note opens another
            raise

    def _connect(self) -> Any:
        if self._cursor is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.detach()  # closed with it, never handed to other work
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET synchronous_commit = off")
            self._conn = conn
            self._cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        return self._cursor

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn, self._cursor = self._conn, None, None
            conn.close()


def forget_handovers(conn: Connection, handover_ids: Iterable[int]) -> None:
    """The answers of these handovers are recorded: nothing is left to take over."""
    ids = list(handover_ids)
    if ids:
        conn.execute(delete(Handover).where(col(Handover.id).in_(ids)))


@dataclass(frozen=True, slots=True)
class TakenOver:
    unknown: Lost  # may have reached the provider
    queued: list[int]  # surely did not: queued again


def take_over(
    conn: Connection, now: datetime, *, alive_for: timedelta, everyone: bool = False
) -> TakenOver:
    """The claims of every dead worker (`everyone`: of every worker but none alive, as on
    SQLite at a worker's start): handed over → unknown, the rest → queued again."""
    dead = _dead_workers(conn, now - skew(alive_for), everyone=everyone)
    if not dead:
        return TakenOver([], [])
    claims: list[tuple[int, str | None]] = conn.execute(  # type: ignore[assignment]
        select(col(Message.id), col(Message.claimed_by))
        .where(col(Message.state) == SENDING, col(Message.claimed_by).in_(dead))
        .order_by(col(Message.id))
        .with_for_update(skip_locked=True)
    ).all()
    handed: set[int] = set()
    for (listed,) in conn.execute(
        select(col(Handover.message_ids)).where(col(Handover.worker_id).in_(dead))
    ):
        handed.update(int(i) for i in listed.split(",") if i)
    lost = [(i, worker) for i, worker in claims if i in handed]
    again = [i for i, _ in claims if i not in handed]
    set_unknown(conn=conn, lost=lost, now=now, reason=UNKNOWN_REASON)
    if again:
        conn.execute(
            update(Message)
            .where(col(Message.id).in_(again), col(Message.state) == SENDING)
            .values(state=QUEUED, sending_at=None, claimed_by=None)
        )
    conn.execute(delete(Handover).where(col(Handover.worker_id).in_(dead)))
    conn.execute(delete(WorkerLease).where(col(WorkerLease.worker_id).in_(dead)))
    return TakenOver(lost, again)


def _dead_workers(conn: Connection, before: datetime, *, everyone: bool) -> list[str]:
    """Workers holding claims and no lease alive at `before` (a worker without a lease
    row died before its first heartbeat, or gave its lease up)."""
    holders = set(
        conn.execute(
            select(col(Message.claimed_by))
            .where(col(Message.state) == SENDING, col(Message.claimed_by).is_not(None))
            .distinct()
        ).scalars()
    )
    if everyone:
        return sorted(w for w in holders if w)
    alive = set(
        conn.execute(
            select(col(WorkerLease.worker_id)).where(col(WorkerLease.alive_until) >= before)
        ).scalars()
    )
    return sorted(w for w in holders - alive if w)
