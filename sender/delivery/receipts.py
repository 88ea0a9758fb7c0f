"""Delivery receipts: what the network says became of a message after it accepted it.

Every receipt, whatever carried it (an SMPP `deliver_sm`, an HTTP status callback, the
console provider), goes through `record_receipt` (or `record_receipts` for several at
once). A receipt names a provider and the provider's id of one part of a message:

- `delivered`                          the part arrived;
- `undelivered`, `expired`, `rejected`  it never will: the part is `undelivered`, and the
  receipt's state is kept at the head of the message's error ("expired: ...");
- `sent`, `unknown`                    intermediate news (accepted by the next hop, the
  network does not know yet): nothing changes.

A message is `delivered` (at the latest part's receipt time) once every part is; it is
`undelivered` (at the first failing part's time, with its error) as soon as one part is.
Only a `sent` message moves; the first final receipt of a part wins.

Idempotent: a receipt arriving twice changes nothing the second time. A receipt arriving
before the submit answer it refers to was recorded (a fast SMSC answers `submit_sm_resp`
and `deliver_sm` almost together) is kept as a pending receipt, and applied with the
answer: `waiting_for` reads what waits for the parts an answer brings, and the answer
writes each part and its message in their final state at once (sender/delivery/outbox.py),
the part `delivered` and the message straight from `sending` to `delivered`, never `sent`
first. `apply_pending` applies them to parts that exist already (the sweep's catch-up).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    Text,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from richsms.bare_many import BareMany
from richsms.errors import InvalidInput
from richsms.events import emit_events, wanted
from richsms.metrics import RECEIPT_LAG_SECONDS, RECEIPTS
from richsms.row_sets import RowSet, one_of
from richsms.types import UTCDateTime
from sender.delivery.models import (
    DELIVERED,
    SENT,
    UNDELIVERED,
    Message,
    MessagePart,
    PendingReceipt,
)
from sender.delivery.providers.base import Receipt, ReceiptState

RECEIPT_STATES = ("delivered", "undelivered", "expired", "rejected", "unknown", "sent")
# Receipt states that settle a part, and the part state each gives.
_FINAL = {
    "delivered": DELIVERED,
    "undelivered": UNDELIVERED,
    "expired": UNDELIVERED,
    "rejected": UNDELIVERED,
}
PART_SENT = SENT  # a part waiting for its receipt

ReceiptOutcome = Literal["applied", "duplicate", "pending", "ignored"]


@dataclass(frozen=True, slots=True)
class _Verdict:
    provider: str
    provider_id: str
    state: str  # the part's new state: delivered or undelivered
    at: datetime
    error: str | None


PartState = tuple[str, datetime | None, str | None]  # a part's state, receipt time, error


def message_verdict(parts: Sequence[PartState]) -> tuple[str, datetime, str | None] | None:
    """A message's state from its parts': `undelivered` at the first failing part's time,
    with its error, as soon as one part is; `delivered` at the latest part's time once
    every part is; None while a part waits for its receipt (or it has no part)."""
    failing = [(at, error) for state, at, error in parts if state == UNDELIVERED and at]
    if failing:
        at, error = min(failing, key=lambda pair: pair[0])
        return UNDELIVERED, at, error
    times = [at for state, at, _ in parts if state == DELIVERED and at is not None]
    if parts and len(times) == len(parts):
        return DELIVERED, max(times), None
    return None


@dataclass(frozen=True, slots=True)
class Waiting:
    """The pending receipts of parts an answer is bringing: the verdict of each part (its
    earliest final receipt), and the pending rows of each."""

    provider: str
    verdicts: dict[str, PartState]
    rows: dict[str, list[tuple[int, Receipt]]]

    def part(self, provider_id: str) -> PartState:
        """The state a new part is written in: its verdict, else waiting (`sent`)."""
        return self.verdicts.get(provider_id, (PART_SENT, None, None))


def waiting_for(conn: Connection, provider: str, provider_ids: Sequence[str]) -> Waiting:
    """What pending receipts say of these parts of `provider`, about to be written."""
    rows: dict[str, list[tuple[int, Receipt]]] = {}
    for chunk in _chunks(provider_ids, 500):
        for row_id, provider_id, state, at, error in conn.execute(
            _PENDING_NAMED, {"provider": provider, "ids": list(chunk)}
        ):
            kept = Receipt(provider, provider_id, cast(ReceiptState, state), at, error)
            rows.setdefault(provider_id, []).append((int(row_id or 0), kept))
    verdicts: dict[str, PartState] = {}
    for provider_id, found in rows.items():
        found.sort(key=lambda row: row[1].at)  # the earliest final receipt wins
        first = found[0][1]
        verdicts[provider_id] = (_FINAL[first.state], first.at, _error(first))
    return Waiting(provider, verdicts, rows)


def existing_parts(conn: Connection, provider: str, provider_ids: Sequence[str]) -> set[str]:
    """Those of these ids of `provider` some message's part has already."""
    return {pid for (_, pid) in _parts(conn, [(provider, pid) for pid in provider_ids])}


def settled_with_answer(conn: Connection, waiting: Waiting, written: Iterable[str]) -> None:
    """The pending receipts of the parts just `written` in their final state are used up:
    dropped, and counted (/metrics) as if applied then."""
    used = [row for provider_id in written for row in waiting.rows.get(provider_id, [])]
    if not used:
        return
    ids = [row_id for row_id, _ in used]
    for chunk_ids in _chunks(ids, 500):
        conn.execute(delete(PendingReceipt).where(col(PendingReceipt.id).in_(chunk_ids)))
    applied = {provider_id: rows[0][0] for provider_id, rows in waiting.rows.items()}
    outcomes: list[ReceiptOutcome] = [
        "applied" if applied.get(r.provider_id) == row_id else "duplicate" for row_id, r in used
    ]
    _tally([r for _, r in used], outcomes, None)


def record_receipt(
    *,
    session: Session,
    provider: str,
    provider_id: str,
    state: str,
    at: datetime,
    error: str | None = None,
) -> ReceiptOutcome:
    """Record one receipt (flushed, not committed). Returns what it did: `applied`,
    `duplicate` (already known: nothing changed), `pending` (no such part yet: kept until
    the submit answer is recorded) or `ignored` (an intermediate state)."""
    receipt = Receipt(provider, provider_id, cast(ReceiptState, state), at, error)
    return record_receipts(session=session, receipts=[receipt])[0]


def record_receipts(
    *, session: Session, receipts: Sequence[Receipt], now: datetime | None = None
) -> list[ReceiptOutcome]:
    """`record_receipt` for several receipts in one go (flushed, not committed)."""
    session.flush()
    return store_receipts(session.connection(), receipts, now=now)


def store_receipts(
    conn: Connection, receipts: Sequence[Receipt], *, now: datetime | None = None
) -> list[ReceiptOutcome]:
    """The work of `record_receipts`, in the caller's transaction; `now` is when the
    receipts arrived (their own time when not given)."""
    outcomes: list[ReceiptOutcome] = ["ignored"] * len(receipts)
    verdicts: dict[tuple[str, str], tuple[int, _Verdict]] = {}
    for index, receipt in enumerate(receipts):
        if receipt.state not in RECEIPT_STATES:
            raise InvalidInput(
                f"unknown receipt state {receipt.state!r}: use {', '.join(RECEIPT_STATES)}"
            )
        part_state = _FINAL.get(receipt.state)
        if part_state is None:
            continue
        key = (receipt.provider, receipt.provider_id)
        verdict = _Verdict(*key, part_state, receipt.at, _error(receipt))
        if key in verdicts:  # the same part twice in one go: the first wins
            outcomes[index] = "duplicate"
            continue
        verdicts[key] = (index, verdict)
    if not verdicts:
        return outcomes
    parts = _parts(conn, list(verdicts))
    pending: list[Receipt] = []
    settle: list[_Settled] = []
    for key, (index, verdict) in verdicts.items():
        found = parts.get(key)
        if found is None:
            outcomes[index] = "pending"
            pending.append(receipts[index])
        elif found.state != PART_SENT:
            outcomes[index] = "duplicate"
        else:
            outcomes[index] = "applied"
            settle.append(_Settled(found, verdict))
    _keep_pending(conn, pending, now)
    _settle(conn, settle)
    _tally(receipts, outcomes, now)
    return outcomes


def _tally(
    receipts: Sequence[Receipt], outcomes: list[ReceiptOutcome], now: datetime | None
) -> None:
    """/metrics: what the receipts did, and how late each applied one came. A receipt kept
    pending is counted again (applied) when its answer arrives, with its whole lag; the
    lag is wall-clock time, as Prometheus reads it, when the caller gives none."""
    at = now or datetime.now(UTC)
    for receipt, outcome in zip(receipts, outcomes, strict=True):
        RECEIPTS.labels(receipt.provider, outcome).inc()
        if outcome == "applied":
            lag = (at - receipt.at).total_seconds()
            RECEIPT_LAG_SECONDS.labels(receipt.provider).observe(max(lag, 0.0))


def apply_pending(conn: Connection, keys: Iterable[tuple[str, str]]) -> int:
    """Apply the pending receipts of these (provider, provider_id) parts, where the part
    exists by now; returns how many it settled (the others stay pending)."""
    found: list[Receipt] = []
    ids: list[int] = []
    for provider, chunk in _by_provider(keys):
        rows = conn.execute(
            select(
                col(PendingReceipt.id),
                col(PendingReceipt.provider_id),
                col(PendingReceipt.state),
                col(PendingReceipt.at),
                col(PendingReceipt.error),
            ).where(
                col(PendingReceipt.provider) == provider,
                col(PendingReceipt.provider_id).in_(chunk),
            )
        ).all()
        for row_id, provider_id, state, at, error in rows:
            assert row_id is not None
            ids.append(row_id)
            found.append(Receipt(provider, provider_id, cast(ReceiptState, state), at, error))
    if not found:
        return 0
    order = sorted(range(len(found)), key=lambda n: found[n].at)  # the earliest wins
    outcomes = store_receipts(conn, [found[n] for n in order])
    # Those whose part does not exist yet stay pending, for the answer that brings it.
    ids = [ids[n] for n, outcome in zip(order, outcomes, strict=True) if outcome != "pending"]
    for chunk_ids in _chunks(ids, 500):
        conn.execute(delete(PendingReceipt).where(col(PendingReceipt.id).in_(chunk_ids)))
    return len(ids)


def reconcile_pending(conn: Connection, *, limit: int = 5_000) -> int:
    """Apply pending receipts whose part exists by now. A receipt stored while its
    submit answer was being recorded in another transaction (PostgreSQL, READ COMMITTED)
    sees no part, and that answer sees no pending receipt: each misses the other. The
    sweep catches these within its interval; returns how many it applied."""
    keys = conn.execute(
        select(col(PendingReceipt.provider), col(PendingReceipt.provider_id))
        .join(
            MessagePart,
            and_(
                col(MessagePart.provider) == col(PendingReceipt.provider),
                col(MessagePart.provider_id) == col(PendingReceipt.provider_id),
            ),
        )
        .limit(limit)
    ).all()
    return apply_pending(conn, [(str(p), str(i)) for p, i in keys]) if keys else 0


def forget_pending(conn: Connection, *, received_before: datetime) -> int:
    """Drop pending receipts no answer claimed in time (ids of another system, or of a
    message whose answer was lost); returns how many."""
    result = conn.execute(
        delete(PendingReceipt).where(col(PendingReceipt.received_at) < received_before)
    )
    return int(result.rowcount)


def _error(receipt: Receipt) -> str | None:
    if receipt.state == "delivered":
        return None
    if receipt.state == "undelivered":
        return receipt.error or "undelivered"
    return f"{receipt.state}: {receipt.error}" if receipt.error else receipt.state


@dataclass(frozen=True, slots=True)
class _Part:
    id: int
    message_id: int
    state: str
    siblings: int  # the message's number of parts, this one included


@dataclass(frozen=True, slots=True)
class _Settled:
    part: _Part
    verdict: _Verdict


def _parts(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], _Part]:
    """The parts that exist, by (provider, provider_id)."""
    found: dict[tuple[str, str], _Part] = {}
    for provider, chunk in _by_provider(keys):
        rows = conn.execute(_PARTS_NAMED, {"provider": provider, "ids": list(chunk)}).all()
        for part_id, provider_id, message_id, state, siblings in rows:
            found[(provider, provider_id)] = _Part(
                int(part_id), int(message_id), state, int(siblings)
            )
    return found


def _keep_pending(conn: Connection, receipts: list[Receipt], now: datetime | None) -> None:
    if not receipts:
        return
    rows = [
        {
            "provider": r.provider,
            "provider_id": r.provider_id,
            "state": r.state,
            "at": r.at,
            "error": r.error,
            "received_at": now or r.at,
        }
        for r in receipts
    ]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(PendingReceipt).on_conflict_do_nothing(), rows)


def _settle(conn: Connection, settle: list[_Settled]) -> None:
    """Mark the parts, then move each touched `sent` message to its verdict."""
    if not settle:
        return
    # By the part's own id, read just before: the planner cannot turn it into a scan of
    # the parts still `sent` (it did, on PostgreSQL statistics that counted them few:
    # 60-100 ms a group of 200 on a table of 40,000 parts, bench/smpp).
    settled_parts = [
        {"b_part": s.part.id, "b_state": s.verdict.state, "b_at": s.verdict.at,
         "b_error": s.verdict.error}
        for s in settle
    ]  # fmt: skip
    on_postgresql = conn.dialect.name == "postgresql"
    if on_postgresql:  # one statement for the whole group (richsms/row_sets.py)
        conn.execute(_SETTLE_PART_SET, _SETTLE_PART_ROWS.params(settled_parts))
    else:
        _SETTLE_PART.execute(conn, settled_parts)
    webhooks = wanted(conn, "delivery")
    # A message of one part takes its part's verdict: no need to read its parts back,
    # unless webhooks must know which messages this moved (still `sent`).
    alone = [
        (s.part.message_id, s.verdict) for s in settle if s.part.siblings == 1 and not webhooks
    ]
    message_ids = sorted({s.part.message_id for s in settle} - {m for m, _ in alone})
    parts: dict[int, list[tuple[str, datetime | None, str | None]]] = {
        message_id: [(v.state, v.at, v.error)] for message_id, v in alone
    }
    for chunk in _chunks(message_ids, 500):
        rows = conn.execute(_PARTS_OF_SENT, {"ids": list(chunk)}).all()
        for message_id, state, at, error in rows:
            parts.setdefault(int(message_id), []).append((state, at, error))
    delivered: list[dict[str, object]] = []
    undelivered: list[dict[str, object]] = []
    for message_id, states in parts.items():
        verdict = message_verdict(states)
        if verdict is None:
            continue
        state, at, error = verdict
        if state == UNDELIVERED:
            undelivered.append({"b_id": message_id, "b_at": at, "b_error": error})
        else:
            delivered.append({"b_id": message_id, "b_at": at})
    if on_postgresql:
        if delivered:
            conn.execute(_DELIVER_SET, _DELIVER_ROWS.params(delivered))
        if undelivered:
            conn.execute(_UNDELIVER_SET, _UNDELIVER_ROWS.params(undelivered))
    else:
        _DELIVER.execute(conn, delivered)
        _UNDELIVER.execute(conn, undelivered)
    if webhooks:
        tell_webhooks(conn, delivered, undelivered)


# The statements receipts run for every batch, built once (building and keying a
# statement cost more than running it for a small batch).
_SIBLING = MessagePart.__table__.alias("sibling")  # type: ignore[attr-defined]
_PARTS_NAMED = select(
    col(MessagePart.id),
    col(MessagePart.provider_id),
    col(MessagePart.message_id),
    col(MessagePart.state),
    select(func.count())
    .where(_SIBLING.c.message_id == col(MessagePart.message_id))
    .scalar_subquery(),
).where(
    col(MessagePart.provider) == bindparam("provider"),
    one_of(col(MessagePart.provider_id), "ids", String()),
)
_PARTS_OF_SENT = (
    select(
        col(MessagePart.message_id),
        col(MessagePart.state),
        col(MessagePart.receipt_at),
        col(MessagePart.error),
    )
    .join(Message, col(Message.id) == col(MessagePart.message_id))
    .where(
        one_of(col(MessagePart.message_id), "ids", BigInteger()),
        col(Message.state) == SENT,
    )
)
_PENDING_NAMED = select(
    col(PendingReceipt.id),
    col(PendingReceipt.provider_id),
    col(PendingReceipt.state),
    col(PendingReceipt.at),
    col(PendingReceipt.error),
).where(
    col(PendingReceipt.provider) == bindparam("provider"),
    one_of(col(PendingReceipt.provider_id), "ids", String()),
)
_SETTLE_PART = BareMany(
    update(MessagePart)
    .where(col(MessagePart.id) == bindparam("b_part"), col(MessagePart.state) == PART_SENT)
    .values(state=bindparam("b_state"), receipt_at=bindparam("b_at"), error=bindparam("b_error")),
    ["b_part", "b_state", "b_at", "b_error"],
)
_SENT_MESSAGE = (col(Message.id) == bindparam("b_id"), col(Message.state) == SENT)
_DELIVER = BareMany(
    update(Message).where(*_SENT_MESSAGE).values(state=DELIVERED, delivered_at=bindparam("b_at")),
    ["b_id", "b_at"],
)
_UNDELIVER = BareMany(
    update(Message)
    .where(*_SENT_MESSAGE)
    .values(state=UNDELIVERED, undelivered_at=bindparam("b_at"), error=bindparam("b_error")),
    ["b_id", "b_at", "b_error"],
)

# The same three writes on PostgreSQL, each one statement for all the group's rows. Each
# finds its rows by primary key alone and tests `sent` in what it sets: with the test in
# the WHERE, the planner, whose statistics count few rows `sent` (they are few when the
# tables are analysed, thousands while receipts lag), chose to scan every `sent` row for
# each group: 60 ms to 1.7 s a group of 200 parts on a table of 40,000 (bench/smpp).
# A row no longer `sent` (settled meanwhile by a receipt read twice) is written unchanged.
def _if(still_sent: Any, new: Any, column: Any) -> Any:
    return case((still_sent, new), else_=column)


_SETTLE_PART_ROWS = RowSet(
    b_part=BigInteger(), b_state=String(), b_at=UTCDateTime(), b_error=Text()
)
_PART_SENT_NOW = col(MessagePart.state) == PART_SENT
_SETTLE_PART_SET = (
    update(MessagePart)
    .where(col(MessagePart.id) == _SETTLE_PART_ROWS.c.b_part)
    .values(
        state=_if(_PART_SENT_NOW, _SETTLE_PART_ROWS.c.b_state, col(MessagePart.state)),
        receipt_at=_if(_PART_SENT_NOW, _SETTLE_PART_ROWS.c.b_at, col(MessagePart.receipt_at)),
        error=_if(_PART_SENT_NOW, _SETTLE_PART_ROWS.c.b_error, col(MessagePart.error)),
    )
)
_SENT_NOW = col(Message.state) == SENT
_DELIVER_ROWS = RowSet(b_id=BigInteger(), b_at=UTCDateTime())
_DELIVER_SET = (
    update(Message)
    .where(col(Message.id) == _DELIVER_ROWS.c.b_id)
    .values(
        state=_if(_SENT_NOW, literal(DELIVERED), col(Message.state)),
        delivered_at=_if(_SENT_NOW, _DELIVER_ROWS.c.b_at, col(Message.delivered_at)),
    )
)
_UNDELIVER_ROWS = RowSet(b_id=BigInteger(), b_at=UTCDateTime(), b_error=Text())
_UNDELIVER_SET = (
    update(Message)
    .where(col(Message.id) == _UNDELIVER_ROWS.c.b_id)
    .values(
        state=_if(_SENT_NOW, literal(UNDELIVERED), col(Message.state)),
        undelivered_at=_if(_SENT_NOW, _UNDELIVER_ROWS.c.b_at, col(Message.undelivered_at)),
        error=_if(_SENT_NOW, _UNDELIVER_ROWS.c.b_error, col(Message.error)),
    )
)


def tell_webhooks(
    conn: Connection, delivered: list[dict[str, object]], undelivered: list[dict[str, object]]
) -> None:
    """The `delivery` event of each message a receipt just settled (same transaction):
    rows of `b_id`, `b_at` and, for the undelivered, `b_error`."""
    settled = [(DELIVERED, row) for row in delivered] + [(UNDELIVERED, row) for row in undelivered]
    if not settled:
        return
    ids = [int(str(row["b_id"])) for _, row in settled]
    known = dict(
        (int(i or 0), (campaign, contact))
        for i, campaign, contact in conn.execute(
            select(col(Message.id), col(Message.campaign_id), col(Message.contact_id)).where(
                col(Message.id).in_(ids)
            )
        ).all()
    )
    latest = max(row["b_at"] for _, row in settled if isinstance(row["b_at"], datetime))
    payloads = [
        {
            "id": f"delivery_{row['b_id']}",
            "at": row["b_at"],
            "message_id": row["b_id"],
            "state": state,
            "error": row.get("b_error"),
            "campaign_id": known.get(int(str(row["b_id"])), (None, None))[0],
            "contact_id": known.get(int(str(row["b_id"])), (None, None))[1],
        }
        for state, row in settled
    ]
    emit_events(session=conn, now=latest, event="delivery", payloads=payloads)


T = TypeVar("T")


def _by_provider(keys: Iterable[tuple[str, str]]) -> Iterable[tuple[str, Sequence[str]]]:
    """(provider, a chunk of its ids): an equality and an IN list use the unique index."""
    ids: dict[str, list[str]] = {}
    for provider, provider_id in keys:
        ids.setdefault(provider, []).append(provider_id)
    for provider, provider_ids in ids.items():
        for chunk in _chunks(provider_ids, 500):
            yield provider, chunk


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
