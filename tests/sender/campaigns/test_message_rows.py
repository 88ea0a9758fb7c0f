"""One row builder for the outbox: the planning job's bulk rows are the rows `enqueue`
writes for the same message, column by column; and what an empty message becomes is the
same rule everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel, col

from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.contacts import create_contact, record_consent
from sender.audience.custom_fields import record_custom_fields
from sender.audience.models import Contact
from sender.campaigns.automations import create_automation, run_automations
from sender.delivery.models import Message
from sender.delivery.outbox import NewMessage, enqueue
from shortener.codes import CodeMaker
from tests.clock import FrozenClock
from tests.sender.campaigns.test_planning_job import new_campaign, plan, seed, send

# Everything but the row's own id: what the builder decides.
COLUMNS = [c.name for c in SQLModel.metadata.tables["message"].columns if c.name != "id"]


def rows(engine: Engine, campaign_id: int) -> list[dict[str, Any]]:
    with Session(engine) as session:
        found = session.execute(
            select(Message).where(col(Message.campaign_id) == campaign_id).order_by(Message.id)  # type: ignore[arg-type]
        ).scalars()
        return [{c: getattr(m, c) for c in COLUMNS} for m in found]


def enqueued_again(engine: Engine, planned: dict[str, Any]) -> dict[str, Any]:
    """The same message's facts through `enqueue` (the ORM path), read back."""
    with session_scope(engine) as session:
        new = NewMessage(
            phone=planned["phone"],
            text=planned["text"],
            type=planned["type"],
            due_at=planned["due_at"],
            error=planned["error"],
            contact_id=planned["contact_id"],
            campaign_id=planned["campaign_id"],
            link_id=planned["link_id"],
            window=planned["window"],
            timezones=planned["timezones"],
            language=planned["language"],
        )
        message = enqueue(session=session, message=new, now=planned["planned_at"])
        message_id = message.id
    with Session(engine) as session:
        again = session.get(Message, message_id)
        assert again is not None
        return {c: getattr(again, c) for c in COLUMNS}


def test_the_planning_jobs_bulk_rows_are_the_rows_enqueue_writes(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 4)
    with session_scope(engine) as session:
        contact = session.get(Contact, 2)
        assert contact is not None
        contact.fields = {"bio": "blah " * 400}  # far past RICHSMS_MAX_SEGMENTS: an error row
        contact.language = "en"
        session.add(contact)
        record_custom_fields(session=session, names=["bio"])
    now = new_campaign(
        engine,
        clock,
        group,
        template="Bonjour {{ contact.first_name }} {{ contact.bio }} ✓ {{ link }}",
        custom_fields=["bio"],
    )
    later = new_campaign(
        engine,
        clock,
        group,
        type="informational",
        template="À demain {{ contact.first_name }}",
        target_url=None,
        schedule="at",
        send_at=clock.now() + timedelta(days=1),
        refresh_audience=False,  # planned now, sent tomorrow
    )
    for campaign_id in (now, later):
        send(engine, clock, campaign_id)
    plan(engine, clock, settings, "w1")
    planned = rows(engine, now) + rows(engine, later)
    assert {r["state"] for r in planned} == {"queued", "planned", "error"}
    assert {r["encoding"] for r in planned} == {"UCS-2", "GSM-7"}
    for row in planned:
        assert enqueued_again(engine, row) == row


def test_an_empty_message_is_never_sent_whatever_produces_it(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    """Planning queued an empty SMS where `enqueue` refused one (and an automation's
    run failed on it): now it is the recipient's `error` row in both."""
    clock.set(datetime(2026, 4, 17, 6, 0, tzinfo=UTC))
    group = seed(engine, clock, 2)
    with session_scope(engine) as session:
        record_custom_fields(session=session, names=["nickname"])
        for contact in session.execute(select(Contact)).scalars():
            contact.fields = {"birthday": "1990-04-17"}
            record_consent(
                session=session, contact=contact, consent_type="express", source="t", clock=clock
            )
        named = create_contact(
            session=session,
            phone="+33698765432",
            clock=clock,
            region="FR",
            fields={"birthday": "1990-04-17", "nickname": "Zaza"},
        )
        record_consent(
            session=session, contact=named, consent_type="express", source="t", clock=clock
        )
        create_automation(
            session=session,
            clock=clock,
            settings=settings,
            name="Birthday",
            kind="date_field",
            date_field="birthday",
            type="informational",
            template="{{ contact.nickname }}",
        )
    campaign_id = new_campaign(
        engine,
        clock,
        group,
        type="informational",
        template="{{ contact.nickname }}",
        target_url=None,
        custom_fields=["nickname"],
    )
    send(engine, clock, campaign_id)
    plan(engine, clock, settings, "w1")
    assert run_automations(
        engine=engine, clock=clock, settings=settings, codes=CodeMaker("secret")
    ) == 1
    with Session(engine) as session:
        found = session.execute(select(Message).order_by(Message.id)).scalars().all()  # type: ignore[arg-type]
    by_kind = sorted(
        (m.campaign_id is not None, m.phone, m.state, m.text, m.error or "") for m in found
    )
    empty = "template failed for this contact: the message is empty"
    assert by_kind == [
        (False, "+33610000001", "error", "", empty),
        (False, "+33610000002", "error", "", empty),
        (False, "+33698765432", "planned", "Zaza", ""),
        (True, "+33610000001", "error", "", empty),
        (True, "+33610000002", "error", "", empty),
    ]
