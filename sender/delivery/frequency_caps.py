"""Frequency caps: how many promotional messages one contact may get, and how close together.

The account's cap (`RICHSMS_FREQUENCY_CAP`, `RICHSMS_FREQUENCY_GAP_HOURS`: at most 2 per
7 days and none within 16 hours of another, by default) holds for every promotional
campaign; an approver may give a campaign its own (`{"max": 3, "days": 7, "gap_hours": 0}`)
or none (`null`). Informational and administrative messages are never capped, and test
sends are not counted.

The cap is one SQL query over the outbox (`capped`, served by the index on the message's
contact, type and due time), applied twice:

- when a campaign is planned, per batch: a recipient whose promotional messages, sent or
  still to go, already fill the cap around the time this one is due is left out with
  the reason "frequency cap" (counted apart among the excluded);
- when a worker claims the message: only what was handed to the provider counts then, and
  the claim's recipients are locked for its transaction (an advisory lock per contact on
  PostgreSQL; SQLite's writer is alone already), so that two campaigns sent together
  cannot both reach one person past the cap. A message the cap stops there is `skipped`
  with the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Integer, Select, and_, case, func, select, text
from sqlmodel import Session, col

from richsms.errors import InvalidInput
from richsms.row_sets import one_of
from richsms.settings import MAX_CAP_DAYS, MAX_CAP_MESSAGES, MAX_GAP_HOURS, Settings
from sender.delivery.models import (
    DELIVERED,
    PLANNED,
    QUEUED,
    SENDING,
    SENT,
    UNDELIVERED,
    UNKNOWN,
    Message,
)

CODE: Final = "frequency_cap"
REASON: Final = "frequency cap"
CAPPED_TYPE: Final = "promotional"
ACCOUNT: Final = "account"
"""A campaign's `frequency_cap` when it follows the account's cap (the default)."""
StoredCap = dict[str, int] | str | None
"""A campaign's `frequency_cap` as stored: ACCOUNT, its own cap, or None (no cap)."""

# What fills a contact's cap when a campaign is planned: every promotional message that
# left, or is to leave; when a worker claims one: those handed to the provider only.
HANDED: Final = (SENDING, SENT, DELIVERED, UNDELIVERED, UNKNOWN)
COUNTED_AT_PLANNING: Final = (PLANNED, QUEUED, *HANDED)
COUNTED_AT_CLAIM: Final = HANDED

# Advisory locks taken at claim time on PostgreSQL: (this class, the contact's id).
_LOCK_CLASS: Final = 2121
_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(:lock_class, k)) FROM "
    "(SELECT k FROM unnest(CAST(:ids AS integer[])) AS k ORDER BY k) AS ordered"
)


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most `max` promotional messages per `days` days (no count when None), and none
    within `gap_hours` hours of another (none when 0)."""

    max: int | None
    days: int
    gap_hours: int = 0

    @classmethod
    def of_account(cls, settings: Settings) -> FrequencyCap | None:
        """The account's cap, from its settings; None when it is off altogether."""
        limit = settings.frequency_limit
        if limit is None and settings.frequency_gap_hours == 0:
            return None
        count, days = limit if limit is not None else (None, 1)
        return cls(count, days, settings.frequency_gap_hours)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def checked_override(value: object) -> StoredCap:
    """A campaign's `frequency_cap` as stored: "account", None (no cap), or a mapping
    `{"max", "days", "gap_hours"}` within bounds; InvalidInput names the field."""
    if value is None or value == ACCOUNT:
        return None if value is None else ACCOUNT
    if not isinstance(value, Mapping):
        raise InvalidInput(
            'frequency_cap must be "account", null (no cap), or {"max", "days", "gap_hours"}'
        )
    unknown = set(value) - {"max", "days", "gap_hours"}
    if unknown:
        raise InvalidInput(f"frequency_cap has unknown fields: {', '.join(sorted(unknown))}")
    bounds = {
        "max": (1, MAX_CAP_MESSAGES),
        "days": (1, MAX_CAP_DAYS),
        "gap_hours": (0, MAX_GAP_HOURS),
    }
    cap: dict[str, int] = {}
    for name, (low, high) in bounds.items():
        number = value.get(name, 0 if name == "gap_hours" else None)
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            raise InvalidInput(f"frequency_cap.{name} must be a whole number from {low} to {high}")
        cap[name] = number
    return cap


def campaign_cap(stored: object, *, type: str, account: FrequencyCap | None) -> FrequencyCap | None:
    """The cap a campaign's messages of `type` are held to: its own (`stored`), or the
    account's; None when they are not capped."""
    if type != CAPPED_TYPE or stored is None:
        return None
    if stored == ACCOUNT:
        return account
    assert isinstance(stored, Mapping)
    return FrequencyCap(int(stored["max"]), int(stored["days"]), int(stored.get("gap_hours", 0)))


def capped(
    cap: FrequencyCap, at: datetime, states: Sequence[str], *, among: bool = True
) -> Select[Any]:
    """The contacts (among those bound as `contacts`, or every contact when not `among`)
    a promotional message due `at` would take past `cap`, counting their promotional
    messages in `states` (tests left out):
    `max` of them already within the `days` days before `at` (or planned after it), or
    one within `gap_hours` of `at`. One GROUP BY, read through the contact's index."""
    moment = func.coalesce(col(Message.sending_at), col(Message.due_at))
    gap = timedelta(hours=cap.gap_hours)
    period = timedelta(days=cap.days) if cap.max is not None else gap
    full: list[Any] = []
    if cap.max is not None:
        within = case((moment > at - timedelta(days=cap.days), 1), else_=0)
        full.append(func.sum(within) >= cap.max)
    if cap.gap_hours:
        close = case((and_(moment > at - gap, moment < at + gap), 1), else_=0)
        full.append(func.max(close) == 1)
    return (
        select(col(Message.contact_id))
        .where(
            one_of(col(Message.contact_id), "contacts", Integer())
            if among
            else col(Message.contact_id).is_not(None),
            col(Message.type) == CAPPED_TYPE,
            col(Message.is_test).is_(False),
            col(Message.state).in_(states),
            moment > at - max(period, gap),
        )
        .group_by(col(Message.contact_id))
        .having(full[0] if len(full) == 1 else full[0] | full[1])
    )


def capped_among(
    db: Connection | Session,
    cap: FrequencyCap | None,
    due: Mapping[datetime, Iterable[int]],
    states: Sequence[str],
) -> set[int]:
    """Of the contacts `due` lists by the time their message is due, those `cap` leaves
    out: one query per distinct due time (a batch has one, or one per time zone)."""
    if cap is None or (cap.max is None and not cap.gap_hours):
        return set()
    found: set[int] = set()
    for at, contacts in due.items():
        ids = sorted(set(contacts))
        if ids:
            rows = db.execute(capped(cap, at, states), {"contacts": ids})
            found.update(int(contact) for (contact,) in rows)
    return found


def lock_contacts(conn: Connection, contact_ids: Iterable[int]) -> None:
    """Hold the contacts' caps for this transaction (PostgreSQL): a concurrent claim of
    another campaign's message to one of them waits until this one commits, then counts
    what it handed over. In ascending order, so claims never deadlock one another."""
    ids = sorted(set(contact_ids))
    if ids and conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"lock_class": _LOCK_CLASS, "ids": ids})
