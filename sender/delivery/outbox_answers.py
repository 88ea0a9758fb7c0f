"""Recording what the provider answered for the messages a worker claimed: the state,
the provider's id of each part (`message_part`, which receipts name), and any receipt
that arrived before the answer (sender/delivery/receipts.py keeps those pending).

Part of the outbox's transitions (see sender/delivery/outbox.py for the whole diagram).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from richsms.bare_many import BareMany
from sender.delivery.models import FAILED, QUEUED, SENDING, SENT, UNKNOWN, Message, MessagePart
from sender.delivery.receipts import PART_SENT, apply_pending


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
    `message_part` row per provider id, and the receipts that came before the answer
    (pending) are applied to it now.
    """
    by_state: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_state.setdefault(outcome.state, []).append(outcome)
    if SENT in by_state:
        ids = [o.id for o in by_state[SENT]]
        claimed = set(conn.execute(_CLAIMED, {"ids": ids, "worker": worker_id}).scalars())
        by_state[SENT] = [o for o in by_state[SENT] if o.id in claimed]
    for state, group in by_state.items():
        _ANSWERS[state].execute(
            conn,
            [
                {
                    "b_id": o.id,
                    "b_worker": worker_id,
                    "b_at": o.at,
                    "b_pid": o.provider_id or (o.part_ids[0] if o.part_ids else None),
                    "b_error": o.error,
                    "b_retry": o.retry_at,
                }
                for o in group
            ],
        )
    _add_parts(conn, by_state.get(SENT, []), provider)


def _add_parts(conn: Connection, sent: Sequence[Outcome], provider: str) -> None:
    """One row per provider id of each accepted message, then the receipts that were
    waiting for them. An id the provider already gave another message is kept with the
    first (ids are unique per provider; receipts could not tell the two apart)."""
    rows = [
        {
            "message_id": o.id,
            "provider": provider,
            "provider_id": pid,
            "part": n,
            "state": PART_SENT,
        }
        for o in sent
        for n, pid in enumerate(o.part_ids)
    ]
    if not rows:
        return
    _PART.execute(conn, [{**row, "state": PART_SENT} for row in rows])
    apply_pending(conn, [(provider, str(row["provider_id"])) for row in rows])


# The statements recorded for every batch, built and compiled once (see richsms/bare_many).
_ANSWERABLE = or_(col(Message.state) == SENDING, col(Message.state) == UNKNOWN)
_CLAIMED = select(col(Message.id)).where(
    col(Message.id).in_(bindparam("ids", expanding=True)),
    _ANSWERABLE,
    col(Message.claimed_by) == bindparam("worker"),
)
_MINE = and_(
    col(Message.id) == bindparam("b_id"),
    _ANSWERABLE,
    col(Message.claimed_by) == bindparam("b_worker"),
)
_ANSWERS = {
    SENT: BareMany(
        update(Message)
        .where(_MINE)
        .values(state=SENT, sent_at=bindparam("b_at"), provider_id=bindparam("b_pid"), error=None),
        ["b_id", "b_worker", "b_at", "b_pid"],
    ),
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
        )
        .on_conflict_do_nothing()
    ),
    ["message_id", "provider", "provider_id", "part", "state"],
)
