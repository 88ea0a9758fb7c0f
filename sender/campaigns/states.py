"""A campaign's statuses and the only moves between them.

    draft ─────────────┬──────────────► scheduled ──► planning ──► sending ──► done
    awaiting_approval ─► approved ──┘        └─────────────┘ │ ▲ │
                                                             │ │ └─► failed
                                                             ▼ │
                                                            testing
    and from any status that has not finished: ──► cancelled

An A/B tested campaign plans its test recipients first, then is `testing` until the
decision (sender/campaigns/ab/decision.py), then plans the rest of its audience.

Every status change in the code goes through `move` (one campaign, in the session) or
`move_where` (a set-based update of many); both check the table below.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col

from richsms.errors import Conflict
from sender.campaigns.models import Campaign

DRAFT: Final = "draft"
AWAITING_APPROVAL: Final = "awaiting_approval"
APPROVED: Final = "approved"
SCHEDULED: Final = "scheduled"  # waiting for its planning time (plan_at)
PLANNING: Final = "planning"  # the planning job is writing its messages
TESTING: Final = "testing"  # an A/B test's messages are out; waiting for the decision
SENDING: Final = "sending"  # every message is in the outbox
DONE: Final = "done"  # every message reached a final state
CANCELLED: Final = "cancelled"
FAILED: Final = "failed"  # planning could not go on (its audience was deleted, say)

STATUSES: Final = (
    DRAFT,
    AWAITING_APPROVAL,
    APPROVED,
    SCHEDULED,
    PLANNING,
    TESTING,
    SENDING,
    DONE,
    CANCELLED,
    FAILED,
)

TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    DRAFT: frozenset({AWAITING_APPROVAL, SCHEDULED, PLANNING, CANCELLED}),
    AWAITING_APPROVAL: frozenset({APPROVED, CANCELLED}),
    APPROVED: frozenset({SCHEDULED, PLANNING, CANCELLED}),
    SCHEDULED: frozenset({PLANNING, CANCELLED}),
    PLANNING: frozenset({SENDING, TESTING, CANCELLED, FAILED}),
    TESTING: frozenset({PLANNING, CANCELLED}),
    SENDING: frozenset({DONE, CANCELLED}),
    DONE: frozenset(),
    CANCELLED: frozenset(),
    FAILED: frozenset(),
}

# Statuses from which a send may be asked for (approval, when required, is checked apart).
SENDABLE: Final = (DRAFT, APPROVED)
FINISHED: Final = (DONE, CANCELLED, FAILED)
# Statuses whose fields may still be changed: a draft only (an edit after a request for
# approval would send what no second marketer saw).
EDITABLE: Final = (DRAFT,)


def initial_status(*, requires_approval: bool) -> str:
    return AWAITING_APPROVAL if requires_approval else DRAFT


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())


def check_move(campaign_id: int | None, current: str, to: str) -> None:
    """Conflict, naming what is allowed, unless `current` → `to` is in the table."""
    if can_move(current, to):
        return
    allowed = sorted(TRANSITIONS.get(current, frozenset()))
    hint = f" (from {current} it can become: {', '.join(allowed)})" if allowed else ""
    raise Conflict(f"campaign {campaign_id} is {current}; it cannot become {to}{hint}")


def move(campaign: Campaign, to: str, *, now: datetime, **changes: Any) -> Campaign:
    """Move one campaign (loaded in the session, ideally locked) to `to`, setting the
    given columns with it; flushed by whoever owns the session."""
    check_move(campaign.id, campaign.status, to)
    campaign.status = to
    campaign.updated_at = now
    if to == DONE:
        campaign.done_at = now
    if to == CANCELLED:
        campaign.cancelled_at = now
    for name, value in changes.items():
        setattr(campaign, name, value)
    return campaign


def move_where(
    *,
    session: Session,
    current: str,
    to: str,
    now: datetime,
    condition: ColumnElement[bool] | None = None,
) -> list[int]:
    """Set-based: move every campaign in `current` that meets `condition` to `to`;
    returns their ids."""
    check_move(None, current, to)
    values: dict[str, Any] = {"status": to, "updated_at": now}
    if to == DONE:
        values["done_at"] = now
    if to == CANCELLED:
        values["cancelled_at"] = now
    statement = update(Campaign).where(col(Campaign.status) == current)
    if condition is not None:
        statement = statement.where(condition)
    rows = session.execute(statement.values(values).returning(col(Campaign.id)))
    moved = [int(r[0]) for r in rows]
    session.flush()
    return moved
