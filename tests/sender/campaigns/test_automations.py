"""Automations against the real database, with the clock set by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.contacts import create_contact, opt_out, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.campaigns.automations import create_automation, run_automations
from sender.delivery.models import Message
from shortener.codes import CodeMaker
from tests.clock import FrozenClock


def run(engine: Engine, clock: FrozenClock, settings: Settings) -> int:
    return run_automations(engine=engine, clock=clock, settings=settings, codes=CodeMaker("secret"))


def messages(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.execute(select(Message).order_by(Message.id)).scalars())  # type: ignore[arg-type]


def test_birthday_message_once_a_year_at_the_local_hour(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    clock.set(datetime(2026, 4, 17, 6, 0, tzinfo=UTC))  # 08:00 in Paris
    with Session(engine) as session:
        for phone, birthday in (
            ("+33612345678", "1990-04-17"),
            ("+33698765432", "18/04/1985"),
            ("+12125550100", "04-17"),
        ):
            contact = create_contact(
                session=session,
                phone=phone,
                clock=clock,
                region="FR",
                fields={"birthday": birthday},
                first_name="Ana",
            )
            record_consent(
                session=session, contact=contact, consent_type="express", source="test", clock=clock
            )
        session.commit()
        create_automation(
            session=session,
            clock=clock,
            settings=settings,
            name="Birthday",
            kind="date_field",
            date_field="birthday",
            type="promotional",
            local_time="10:00",
            template="Joyeux anniversaire {{ contact.first_name }} !",
        )
        session.commit()
    assert run(engine, clock, settings) == 2
    assert run(engine, clock, settings) == 0  # once per occurrence
    sent = {m.phone: m for m in messages(engine)}
    assert set(sent) == {"+33612345678", "+12125550100"}
    assert sent["+33612345678"].due_at == datetime(2026, 4, 17, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert sent["+12125550100"].due_at == datetime(2026, 4, 17, 14, 0, tzinfo=UTC)  # 10:00 EDT
    assert sent["+33612345678"].text.startswith("Joyeux anniversaire Ana !\n")
    clock.set(datetime(2027, 4, 17, 6, 0, tzinfo=UTC))
    assert run(engine, clock, settings) == 2  # next year is a new occurrence


def test_welcome_message_when_a_contact_joins_a_group(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with Session(engine) as session:
        group = create_group(session=session, name="Club", clock=clock)
        create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
        quitter = create_contact(session=session, phone="+33698765432", clock=clock, region="FR")
        session.commit()
        assert group.id is not None
        create_automation(
            session=session,
            clock=clock,
            settings=settings,
            name="Welcome",
            kind="group_join",
            group_id=group.id,
            type="informational",
            local_time="09:00",
            template="Bienvenue au club !",
        )
        opt_out(session=session, contact=quitter, via="test", clock=clock)
        session.commit()
        clock.advance(timedelta(minutes=1))
        add_members(
            session=session,
            group_id=group.id,
            clock=clock,
            contacts=ContactRefs(region="FR", phones=["+33612345678", "+33698765432"]),
        )
    assert run(engine, clock, settings) == 1  # the opted-out member gets nothing
    assert run(engine, clock, settings) == 0
    (welcome,) = messages(engine)
    assert welcome.phone == "+33612345678"
    # Joined at 13:01 Paris time, after 09:00: welcomed at 09:00 the next morning.
    assert welcome.due_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_a_runaway_or_too_long_template_is_refused_when_the_automation_is_saved(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with Session(engine) as session:
        for template in (
            "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}",
            "{{ 'a'|center(20000000) }}",
            "a" * 1600,
        ):
            with pytest.raises(InvalidInput):
                create_automation(
                    session=session,
                    clock=clock,
                    settings=settings,
                    name="Bad",
                    kind="date_field",
                    date_field="birthday",
                    type="informational",
                    template=template,
                )


def test_a_contact_whose_message_cannot_be_produced_gets_an_error_message_once(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    clock.set(datetime(2026, 4, 17, 6, 0, tzinfo=UTC))
    with Session(engine) as session:
        for phone, points in (("+33612345678", "41"), ("+33698765432", "beaucoup")):
            contact = create_contact(
                session=session,
                phone=phone,
                clock=clock,
                region="FR",
                fields={"birthday": "1990-04-17", "points": points},
            )
            record_consent(
                session=session, contact=contact, consent_type="express", source="test", clock=clock
            )
        create_automation(
            session=session,
            clock=clock,
            settings=settings,
            name="Points",
            kind="date_field",
            date_field="birthday",
            type="informational",
            template="{{ 100 // (contact.points | int) }} points",
        )
        session.commit()

    assert run(engine, clock, settings) == 1  # "beaucoup" is 0 points: 100 // 0 fails
    assert run(engine, clock, settings) == 0  # the failure is recorded once, not retried
    sent = {m.phone: m for m in messages(engine)}
    assert (sent["+33612345678"].state, sent["+33612345678"].text) == ("planned", "2 points")
    assert sent["+33698765432"].state == "error"
    assert "division" in (sent["+33698765432"].error or "")
