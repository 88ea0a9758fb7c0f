"""The outbox: every message, whatever produced it, goes in here and only out through a
worker. This module owns its state transitions (those out of `sending` on an answer
are recorded by answers.py):

    planned → queued → sending → sent ──→ delivered     (every part's receipt: delivered)
                 ↑        │         └──→ undelivered   (a part undelivered/expired/rejected)
                 │        ├→ failed          (the provider refused it)
                 └────────┤  (a temporary failure: queued again, after a back-off)
                          └→ unknown         (no answer recorded: never resent)
    planned/queued → expired (not sent in time), queued → skipped (consent, opt-out)

Claiming a message records what carries it (`provider`, `sender`, `sender_number_id`);
an accepted answer records the provider's id of each part (`message_part`), which
receipts (sender/delivery/receipts.py) name. A cancelled campaign's messages become
`cancelled`.

Every row starts from `message_row`, whether one message is enqueued (unitary and test
sends, automations, inbound replies) or a planning batch is written in bulk: it alone
decides a new message's state (`planned`, `queued`, or `error` when it could not be
produced) and every other column.
Final states (sender.delivery.models.FINAL_STATES) are never handed over again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql import Executable
from sqlmodel import Session, col

from richsms.errors import InvalidInput
from richsms.row_sets import one_of
from sender.compose.encoding import analyze
from sender.delivery.models import (
    ERROR,
    EXPIRED,
    MESSAGE_TYPES,
    PLANNED,
    QUEUED,
    SENDING,
    SKIPPED,
    UNKNOWN,
    Message,
)


@dataclass(slots=True)
class NewMessage:
    """One message to add to the outbox: who gets it, what it says, what produced it.
    `error`: it could not be produced (it is recorded, never sent); `due_at` None: now.
    The planning job builds one per recipient: not frozen, which would build it three
    times slower; nothing changes one once built (`dataclasses.replace` makes another)."""

    phone: str
    type: str
    text: str = ""
    encoding: str = "GSM-7"
    segments: int = 0
    due_at: datetime | None = None
    error: str | None = None
    contact_id: int | None = None
    campaign_id: int | None = None
    automation_id: int | None = None
    link_id: int | None = None
    sender: str = ""
    window: str = ""
    timezones: str = ""
    is_test: bool = False
    language: str | None = None  # the language of its text, when it was chosen by it


# Nothing is sent that says nothing: a message without text is refused.
EMPTY: Final = "the message is empty"


def message_row(message: NewMessage, *, now: datetime) -> dict[str, Any]:
    """The outbox row of one message, whatever produced it: `enqueue` adds it through the
    ORM, the planning job writes thousands with one `executemany`. With `error` it is an
    `error` row (the message could not be produced: no text, no link, never sent); else it
    is `queued` when due now, `planned` until its time. An empty text is refused
    (InvalidInput): nothing is sent that says nothing."""
    if message.type not in MESSAGE_TYPES:
        raise InvalidInput(
            f"unknown message type {message.type!r}: use {', '.join(MESSAGE_TYPES)}"
        )
    due = message.due_at or now
    if message.error is not None:
        state, queued_at = ERROR, None
        message = replace(message, text="", encoding="GSM-7", segments=0, link_id=None)
    elif not message.text:
        raise InvalidInput(EMPTY)
    elif due <= now:
        state, queued_at = QUEUED, now
    else:
        state, queued_at = PLANNED, None
    return {
        "campaign_id": message.campaign_id,
        "automation_id": message.automation_id,
        "contact_id": message.contact_id,
        "phone": message.phone,
        "sender": message.sender,
        "type": message.type,
        "text": message.text,
        "language": message.language,
        "encoding": message.encoding,
        "segments": message.segments,
        "link_id": message.link_id,
        "is_test": message.is_test,
        "state": state,
        "due_at": due,
        "window": message.window,
        "timezones": message.timezones,
        "planned_at": now,
        "queued_at": queued_at,
        "error": message.error,
    }


def enqueue(*, session: Session, message: NewMessage, now: datetime) -> Message:
    """Add one message (its row from `message_row`, its encoding and segments from its
    text); flushes."""
    row = Message(**message_row(_measured(message), now=now))
    session.add(row)
    session.flush()
    return row


def enqueue_many(*, session: Session, messages: Sequence[NewMessage], now: datetime) -> list[int]:
    """Add messages as `enqueue` does, in one statement; their ids, in order."""
    if not messages:
        return []
    rows = [message_row(_measured(message), now=now) for message in messages]
    ids = session.execute(_INSERT_RETURNING_IDS, rows).scalars().all()
    return [int(i) for i in ids]


# One statement for many rows (executemany), the ids back in the rows' order.
_INSERT_RETURNING_IDS = insert(Message).returning(col(Message.id), sort_by_parameter_order=True)


def _measured(message: NewMessage) -> NewMessage:
    """With the encoding and segment count of its text."""
    analysis = analyze(message.text)
    return replace(message, encoding=analysis.encoding, segments=analysis.segments)


# --- What workers do to the outbox. Each function runs in the caller's transaction (a
# Core connection) and touches only the rows its state filter names; on PostgreSQL rows
# another transaction holds are skipped (FOR UPDATE SKIP LOCKED), never waited for.

EXPIRED_REASON = "not sent within {hours:g} hours of its due time"
UNKNOWN_REASON = (
    "handed to the provider (claimed by {worker}) but no answer was recorded: it may have "
    "been sent, so it is never resent automatically"
)


@dataclass(frozen=True, slots=True)
class DueMessage:
    """A queued message as a worker sees it when it claims it."""

    id: int
    campaign_id: int | None
    contact_id: int | None
    phone: str
    sender: str
    type: str
    text: str
    encoding: str
    segments: int
    is_test: bool
    window: str
    timezones: str
    due_at: datetime
    queued_at: datetime | None

    @property
    def waiting_since(self) -> datetime:
        """When it first became due; expiry counts from here, whatever deferred it."""
        return self.queued_at or self.due_at


_DUE_COLUMNS = (
    col(Message.id),
    col(Message.campaign_id),
    col(Message.contact_id),
    col(Message.phone),
    col(Message.sender),
    col(Message.type),
    col(Message.text),
    col(Message.encoding),
    col(Message.segments),
    col(Message.is_test),
    col(Message.window),
    col(Message.timezones),
    col(Message.due_at),
    col(Message.queued_at),
)


_MARK_SENDING = update(Message).where(one_of(col(Message.id), "ids", BigInteger()))


def _ids(where: ColumnElement[bool], limit: int | None = None) -> Select[Any]:
    """The ids matching `where`, locked for this transaction, skipping rows held elsewhere."""
    query = select(col(Message.id)).where(where).order_by(col(Message.id))
    if limit is not None:
        query = query.limit(limit)
    return query.with_for_update(skip_locked=True)


def promote_due(*, conn: Connection, now: datetime, limit: int = 10_000) -> int:
    """Planned messages whose time has come become queued; returns how many."""
    due = and_(col(Message.state) == PLANNED, col(Message.due_at) <= now)
    result = conn.execute(
        update(Message)
        .where(col(Message.id).in_(_ids(due, limit)))
        .values(state=QUEUED, queued_at=now)
    )
    return int(result.rowcount)


def expire_overdue(*, conn: Connection, now: datetime, expiry: timedelta) -> list[int]:
    """Planned or queued messages that waited longer than `expiry` become expired."""
    cutoff = now - expiry
    overdue = or_(
        and_(col(Message.state) == PLANNED, col(Message.due_at) < cutoff),
        and_(
            col(Message.state) == QUEUED,
            func.coalesce(col(Message.queued_at), col(Message.due_at)) < cutoff,
        ),
    )
    return expire(
        conn=conn,
        ids=None,
        where=overdue,
        now=now,
        reason=EXPIRED_REASON.format(hours=expiry.total_seconds() / 3600),
    )


def expire(
    *,
    conn: Connection,
    ids: Sequence[int] | None,
    now: datetime,
    reason: str,
    where: ColumnElement[bool] | None = None,
) -> list[int]:
    """Mark the given (or matching) planned or queued messages expired."""
    condition: ColumnElement[bool] = col(Message.state).in_((PLANNED, QUEUED))
    if ids is not None:
        if not ids:
            return []
        condition = and_(condition, col(Message.id).in_(ids))
    if where is not None:
        condition = and_(condition, where)
    result = conn.execute(
        update(Message)
        .where(col(Message.id).in_(_ids(condition)))
        .values(state=EXPIRED, expired_at=now, error=reason)
        .returning(col(Message.id))
    )
    return sorted(i for i in result.scalars() if i is not None)


def mark_unknown(
    *, conn: Connection, now: datetime, claimed_before: datetime
) -> list[tuple[int, str | None]]:
    """Messages `sending` since before `claimed_before` become unknown: their worker,
    alive, never recorded an answer within its lease. Returns (id, claimed_by) of each."""
    found = conn.execute(
        select(col(Message.id), col(Message.claimed_by))
        .where(col(Message.state) == SENDING, col(Message.sending_at) < claimed_before)
        .order_by(col(Message.id))
        .with_for_update(skip_locked=True)
    ).all()
    lost = sorted((i, worker) for i, worker in found if i is not None)
    set_unknown(conn=conn, lost=lost, now=now, reason=UNKNOWN_REASON)
    return lost


def set_unknown(
    *, conn: Connection, lost: Sequence[tuple[int, str | None]], now: datetime, reason: str
) -> None:
    """These `sending` messages (id, the worker that claimed it) become unknown, never to
    be resent; `reason` names the worker (`{worker}`)."""
    if lost:
        conn.execute(
            update(Message)
            .where(col(Message.id) == bindparam("b_id"), col(Message.state) == SENDING)
            .values(state=UNKNOWN, unknown_at=now, error=bindparam("b_error")),
            [
                {"b_id": i, "b_error": reason.format(worker=worker or "no worker")}
                for i, worker in lost
            ],
        )


def due_groups(*, conn: Connection, now: datetime) -> list[tuple[int | None, str]]:
    """(campaign_id, sender) of every group of due queued messages: each group shares the
    same rate limits."""
    rows = conn.execute(
        select(col(Message.campaign_id), col(Message.sender))
        .where(col(Message.state) == QUEUED, col(Message.due_at) <= now)
        .group_by(col(Message.campaign_id), col(Message.sender))
    ).all()
    return [(campaign_id, sender) for campaign_id, sender in rows]


def lock_due(
    *, conn: Connection, now: datetime, campaign_id: int | None, sender: str, limit: int
) -> list[DueMessage]:
    """The earliest due queued messages of one group, locked for this transaction."""
    statement = _DUE_WITHOUT_CAMPAIGN if campaign_id is None else _DUE_OF_CAMPAIGN
    rows = conn.execute(
        statement, {"now": now, "campaign": campaign_id, "sender": sender, "limit": limit}
    )
    return [DueMessage(*row) for row in rows]  # the columns in the fields' order


def _due(group: ColumnElement[bool]) -> Executable:
    """Claimed for every batch: built once per kind of group."""
    return (
        select(*_DUE_COLUMNS)
        .where(
            col(Message.state) == QUEUED,
            col(Message.due_at) <= bindparam("now"),
            group,
            col(Message.sender) == bindparam("sender"),
        )
        # due_at alone: the (state, due_at) index then yields the rows in order and the
        # scan stops at `limit`; a tie-break would sort every due row first.
        .order_by(col(Message.due_at))
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )


_DUE_WITHOUT_CAMPAIGN = _due(col(Message.campaign_id).is_(None))
_DUE_OF_CAMPAIGN = _due(col(Message.campaign_id) == bindparam("campaign"))


def mark_sending(
    *,
    conn: Connection,
    ids: Sequence[int],
    now: datetime,
    worker_id: str,
    provider: str | None = None,
    sender: str | None = None,
    sender_number_id: int | None = None,
) -> None:
    """Claim: from here the message may be handed to the provider, and only by `worker_id`.
    Records what carries it: the provider, the sender it goes from and that number's id."""
    if not ids:
        return
    values: dict[str, object] = {
        "state": SENDING,
        "sending_at": now,
        "claimed_by": worker_id,
        "provider": provider,
        "sender_number_id": sender_number_id,
    }
    if sender:
        values["sender"] = sender
    # The rows this transaction locked in lock_due.
    conn.execute(_MARK_SENDING.values(**values), {"ids": list(ids)})


def defer(*, conn: Connection, deferrals: Sequence[tuple[int, datetime]]) -> None:
    """Queued messages wait until the given instant (quiet hours, back-off)."""
    if deferrals:
        conn.execute(
            update(Message)
            .where(col(Message.id) == bindparam("b_id"), col(Message.state) == QUEUED)
            .values(due_at=bindparam("b_due")),
            [{"b_id": i, "b_due": due} for i, due in deferrals],
        )


def skip(*, conn: Connection, skips: Sequence[tuple[int, str]]) -> None:
    """Queued messages that may not be sent (consent, opt-out) are skipped, with why."""
    if skips:
        conn.execute(
            update(Message)
            .where(col(Message.id) == bindparam("b_id"), col(Message.state) == QUEUED)
            .values(state=SKIPPED, error=bindparam("b_error")),
            [{"b_id": i, "b_error": reason} for i, reason in skips],
        )


def release(*, conn: Connection, ids: Sequence[int], worker_id: str) -> None:
    """Claimed messages never handed to the provider go back to the queue."""
    if ids:
        conn.execute(
            update(Message)
            .where(
                col(Message.id).in_(ids),
                col(Message.state) == SENDING,
                col(Message.claimed_by) == worker_id,
            )
            .values(state=QUEUED, sending_at=None, claimed_by=None)
        )
