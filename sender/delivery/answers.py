"""Recording what the provider answered for claimed messages: the outbox transition out of
`sending` (sent, failed, unknown, or queued again after a temporary failure), the
provider's id of each part (`message_part`, which receipts name), and any receipt that
arrived before its answer, applied in the same write (receipts.py keeps those pending).
The other transitions are in outbox.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from richsms.bare_many import BareMany
from richsms.events import wanted
from richsms.row_sets import RowSet, one_of
from richsms.types import UTCDateTime
from sender.delivery.models import (
    DELIVERED,
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    UNDELIVERED,
    UNKNOWN,
    Message,
    MessagePart,
)
from sender.delivery.receipts import (
    Waiting,
    apply_pending,
    existing_parts,
    message_verdict,
    settled_with_answer,
    tell_webhooks,
    waiting_for,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a message handed to the provider."""

    id: int
    state: str  # sent, failed, unknown, or queued (a temporary failure, retried at retry_at)
    at: datetime
    provider_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    # Every part's id for a long SMS sent as several parts (provider_id alone: one part).
    provider_ids: tuple[str, ...] = ()

    @property
    def part_ids(self) -> tuple[str, ...]:
        if self.provider_ids:
            return self.provider_ids
        return (self.provider_id,) if self.provider_id else ()


def record(
    *, conn: Connection, outcomes: Sequence[Outcome], worker_id: str, provider: str = ""
) -> None:
    """Store what `provider` answered for messages this worker claimed.

    An answer is recorded even if a sweep already marked the message unknown: the
    answer is the truth, the sweep only a presumption. An accepted message gets one
    `message_part` row per provider id; a receipt that came before the answer (pending)
    is applied in the same writes: its part is written in its final state, and the
    message goes straight to `delivered` (or `undelivered`) with its `sent_at`.
    """
    by_state: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_state.setdefault(outcome.state, []).append(outcome)
    if SENT in by_state:
        ids = [o.id for o in by_state[SENT]]
        claimed = set(conn.execute(_CLAIMED, {"ids": ids, "worker": worker_id}).scalars())
        by_state[SENT] = [o for o in by_state[SENT] if o.id in claimed]
    sent = by_state.pop(SENT, [])
    for state, group in by_state.items():
        _ANSWERS[state].execute(
            conn,
            [
                {
                    "b_id": o.id,
                    "b_worker": worker_id,
                    "b_at": o.at,
                    "b_error": o.error,
                    "b_retry": o.retry_at,
                }
                for o in group
            ],
        )
    if sent:
        _record_sent(conn, sent, worker_id, provider)


def _record_sent(conn: Connection, sent: Sequence[Outcome], worker_id: str, provider: str) -> None:
    """Accepted messages: their parts (one row per provider id) and their state, each
    written once, in the final state the receipts waiting for them give. An id the
    provider already gave another message is kept with the first (ids are unique per
    provider; receipts could not tell the two apart): its receipts are that message's."""
    waiting = waiting_for(conn, provider, [pid for o in sent for pid in o.part_ids])
    taken = existing_parts(conn, provider, list(waiting.verdicts)) if waiting.verdicts else set()
    settled: dict[str, list[dict[str, object]]] = {DELIVERED: [], UNDELIVERED: []}
    messages: list[dict[str, object]] = []
    parts: list[dict[str, object]] = []
    for o in sent:
        own = [(n, pid) for n, pid in enumerate(o.part_ids) if pid not in taken]
        states = [waiting.part(pid) for _, pid in own]
        verdict = message_verdict(states) if waiting.verdicts else None
        state, at, error = verdict or (SENT, None, None)
        messages.append(
            {
                "b_id": o.id,
                "b_worker": worker_id,
                "b_state": state,
                "b_at": o.at,
                "b_pid": o.provider_id or (o.part_ids[0] if o.part_ids else None),
                "b_error": error,
                "b_delivered": at if state == DELIVERED else None,
                "b_undelivered": at if state == UNDELIVERED else None,
            }
        )
        if verdict is not None:
            settled[state].append({"b_id": o.id, "b_at": at, "b_error": error})
        parts += [
            {
                "message_id": o.id,
                "provider": provider,
                "provider_id": pid,
                "part": n,
                "state": part_state,
                "receipt_at": part_at,
                "error": part_error,
            }
            for (n, pid), (part_state, part_at, part_error) in zip(own, states, strict=True)
        ]
    if conn.dialect.name == "postgresql":  # each a statement for the whole batch
        conn.execute(_ACCEPTED_SET, {"worker": worker_id, **_ACCEPTED_ROWS.params(messages)})
        conn.execute(_PART_SET, _PART_ROWS.params(parts))
    else:
        _ACCEPTED.execute(conn, messages)
        _PART.execute(conn, parts)
    _settle_waiting(conn, waiting, taken, settled)


def _settle_waiting(
    conn: Connection,
    waiting: Waiting,
    taken: set[str],
    settled: dict[str, list[dict[str, object]]],
) -> None:
    """The receipts the answer used up are dropped; those of an id another message had
    already apply to that one; the messages settled are told to webhooks."""
    if not waiting.verdicts:
        return
    settled_with_answer(conn, waiting, [pid for pid in waiting.verdicts if pid not in taken])
    if taken:
        apply_pending(conn, [(waiting.provider, pid) for pid in sorted(taken)])
    if (settled[DELIVERED] or settled[UNDELIVERED]) and wanted(conn, "delivery"):
        tell_webhooks(conn, settled[DELIVERED], settled[UNDELIVERED])


# The statements recorded for every batch, built and compiled once (see richsms/bare_many).
_ANSWERABLE = or_(col(Message.state) == SENDING, col(Message.state) == UNKNOWN)
_CLAIMED = select(col(Message.id)).where(
    one_of(col(Message.id), "ids", BigInteger()),
    _ANSWERABLE,
    col(Message.claimed_by) == bindparam("worker"),
)
_MINE = and_(
    col(Message.id) == bindparam("b_id"),
    _ANSWERABLE,
    col(Message.claimed_by) == bindparam("b_worker"),
)
# Accepted: `sent`, or already `delivered`/`undelivered` by the receipts that came first.
_ACCEPTED = BareMany(
    update(Message)
    .where(_MINE)
    .values(
        state=bindparam("b_state"),
        sent_at=bindparam("b_at"),
        provider_id=bindparam("b_pid"),
        error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered"),
        undelivered_at=bindparam("b_undelivered"),
    ),
    ["b_id", "b_worker", "b_state", "b_at", "b_pid", "b_error", "b_delivered", "b_undelivered"],
)
# The same two writes on PostgreSQL, one statement for all the batch's rows.
_ACCEPTED_ROWS = RowSet(
    b_id=BigInteger(),
    b_state=String(),
    b_at=UTCDateTime(),
    b_pid=String(),
    b_error=Text(),
    b_delivered=UTCDateTime(),
    b_undelivered=UTCDateTime(),
)
_ACCEPTED_SET = (
    update(Message)
    .where(
        col(Message.id) == _ACCEPTED_ROWS.c.b_id,
        _ANSWERABLE,
        col(Message.claimed_by) == bindparam("worker"),
    )
    .values(
        state=_ACCEPTED_ROWS.c.b_state,
        sent_at=_ACCEPTED_ROWS.c.b_at,
        provider_id=_ACCEPTED_ROWS.c.b_pid,
        error=_ACCEPTED_ROWS.c.b_error,
        delivered_at=_ACCEPTED_ROWS.c.b_delivered,
        undelivered_at=_ACCEPTED_ROWS.c.b_undelivered,
    )
)
_PART_COLUMNS = ("message_id", "provider", "provider_id", "part", "state", "receipt_at", "error")
_PART_ROWS = RowSet(
    message_id=BigInteger(),
    provider=String(),
    provider_id=String(),
    part=Integer(),
    state=String(),
    receipt_at=UTCDateTime(),
    error=Text(),
)
_PART_SET = (
    postgresql.insert(MessagePart)
    .from_select(list(_PART_COLUMNS), select(*(_PART_ROWS.c[name] for name in _PART_COLUMNS)))
    .on_conflict_do_nothing()
)
_ANSWERS = {
    FAILED: BareMany(
        update(Message)
        .where(_MINE)
        .values(state=FAILED, failed_at=bindparam("b_at"), error=bindparam("b_error")),
        ["b_id", "b_worker", "b_at", "b_error"],
    ),
    UNKNOWN: BareMany(
        update(Message)
        .where(_MINE)
        .values(state=UNKNOWN, unknown_at=bindparam("b_at"), error=bindparam("b_error")),
        ["b_id", "b_worker", "b_at", "b_error"],
    ),
    QUEUED: BareMany(
        update(Message)
        .where(_MINE)
        .values(
            state=QUEUED, due_at=bindparam("b_retry"), error=bindparam("b_error"), claimed_by=None
        ),
        ["b_id", "b_worker", "b_retry", "b_error"],
    ),
}
# An id the provider already gave another message is kept with the first.
_PART = BareMany(
    lambda dialect: (
        (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(MessagePart)
        .values(
            message_id=bindparam("message_id"),
            provider=bindparam("provider"),
            provider_id=bindparam("provider_id"),
            part=bindparam("part"),
            state=bindparam("state"),
            receipt_at=bindparam("receipt_at"),
            error=bindparam("error"),
        )
        .on_conflict_do_nothing()
    ),
    ["message_id", "provider", "provider_id", "part", "state", "receipt_at", "error"],
)

