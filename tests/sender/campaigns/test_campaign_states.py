"""The campaign state machine: one table of moves, one way to make them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from richsms.db import session_scope
from richsms.errors import Conflict
from sender.campaigns import states
from sender.campaigns.models import Campaign
from tests.clock import FrozenClock

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def campaign(status: str) -> Campaign:
    return Campaign(
        id=7,
        name="x",
        type="informational",
        status=status,
        template="Hello",
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_life_of_a_campaign_from_draft_to_done() -> None:
    c = campaign(states.DRAFT)
    for status in (states.PLANNING, states.SENDING, states.DONE):
        states.move(c, status, now=NOW)
    assert c.status == "done" and c.done_at == NOW


def test_with_approval_and_a_schedule() -> None:
    c = campaign(states.initial_status(requires_approval=True))
    assert c.status == "awaiting_approval"
    for status in (states.APPROVED, states.SCHEDULED, states.PLANNING, states.SENDING):
        states.move(c, status, now=NOW)
    states.move(c, states.CANCELLED, now=NOW)
    assert c.status == "cancelled" and c.cancelled_at == NOW


@pytest.mark.parametrize(
    ("current", "to"),
    [
        ("awaiting_approval", "planning"),  # approval cannot be skipped
        ("draft", "sending"),  # nothing is sent unplanned
        ("sending", "planning"),
        ("done", "cancelled"),
        ("cancelled", "planning"),
        ("failed", "sending"),
        ("scheduled", "draft"),
    ],
)
def test_a_move_not_in_the_table_is_a_conflict_naming_what_is_allowed(
    current: str, to: str
) -> None:
    c = campaign(current)
    with pytest.raises(Conflict) as raised:
        states.move(c, to, now=NOW)
    message = raised.value.message
    assert f"campaign 7 is {current}; it cannot become {to}" in message
    for allowed in states.TRANSITIONS[current]:
        assert allowed in message
    assert c.status == current


def test_every_status_can_end_and_finished_ones_stay_so() -> None:
    assert set(states.TRANSITIONS) == set(states.STATUSES)
    for status in states.STATUSES:
        assert all(to in states.STATUSES for to in states.TRANSITIONS[status])
        if status in states.FINISHED:
            assert not states.TRANSITIONS[status]
        else:
            assert states.CANCELLED in states.TRANSITIONS[status]


def test_a_set_based_move_checks_the_table_too(engine: Engine, clock: FrozenClock) -> None:
    with session_scope(engine) as session:
        for status in (states.SENDING, states.SENDING, states.PLANNING):
            c = campaign(status)
            c.id = None
            session.add(c)
    with session_scope(engine) as session:
        moved = states.move_where(
            session=session, current=states.SENDING, to=states.DONE, now=clock.now()
        )
        assert sorted(moved) == [1, 2]
        with pytest.raises(Conflict, match="it cannot become draft"):
            states.move_where(
                session=session, current=states.SENDING, to=states.DRAFT, now=clock.now()
            )
    with Session(engine) as session:
        done = session.get(Campaign, 1)
        assert done is not None and done.status == "done" and done.done_at == clock.now()
        planning = session.get(Campaign, 3)
        assert planning is not None and planning.status == "planning"


def test_no_code_sets_a_campaign_status_but_the_state_machine() -> None:
    """A status written anywhere else would bypass the table."""
    offenders = []
    pattern = re.compile(r"campaign\w*\.status\s*=[^=]|Campaign\.status\)?\s*[:=][^=]")
    for package in ("sender", "web", "cli", "richsms", "landing_templates", "shortener"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "campaign_states.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
