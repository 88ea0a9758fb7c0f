from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.merge.contact import contact_fields
from sender.audience.contacts import (
    consent_history,
    create_contact,
    ensure_contact,
    find_by_phone,
    get_contact,
    normalize_consent_type,
    normalize_language,
    opt_in,
    opt_out,
    record_consent,
)
from tests.clock import FrozenClock


def test_a_contact_from_a_national_number(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        contact = create_contact(
            session=session,
            phone="06 12 34 56 78",
            clock=clock,
            region="FR",
            first_name=" Léa ",
            fields={"city": "Lyon"},
        )
        session.commit()
        found = find_by_phone(session=session, phone="+33612345678")
        assert found is not None and found.id == contact.id
        assert (found.first_name, found.language, found.timezones) == ("Léa", "fr", "Europe/Paris")
        assert found.status == "subscribed" and found.created_at == clock.now()
        assert get_contact(session=session, contact_id=found.id or 0).phone == "+33612345678"
        with pytest.raises(Conflict, match=r"\+33612345678 already exists"):
            create_contact(session=session, phone="+33612345678", clock=clock, region="FR")
        with pytest.raises(NotFound):
            get_contact(session=session, contact_id=999)
        assert find_by_phone(session=session, phone="+33700000000") is None


def test_ensure_contact_finds_or_creates(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        first = ensure_contact(session=session, phone="+447911123456", clock=clock, region="FR")
        again = ensure_contact(session=session, phone="00447911123456", clock=clock, region="FR")
        assert first.id == again.id
        assert first.language == "en"
        assert first.timezones.split() == [
            "Europe/Guernsey",
            "Europe/Isle_of_Man",
            "Europe/Jersey",
            "Europe/London",
        ]


def test_opt_out_records_when_and_how_and_opt_in_reverses_it(
    engine: Engine, clock: FrozenClock
) -> None:
    with Session(engine) as session:
        contact = create_contact(session=session, phone="0612345678", clock=clock, region="FR")
        assert opt_out(session=session, contact=contact, via="keyword:STOP", clock=clock)
        first_out = clock.now()
        clock.advance(timedelta(hours=1))
        # A second request changes nothing but is still part of the history.
        assert not opt_out(session=session, contact=contact, via="api", clock=clock)
        assert contact.status == "opted_out"
        assert (contact.opted_out_at, contact.opted_out_via) == (first_out, "keyword:STOP")
        clock.advance(timedelta(hours=1))
        assert opt_in(session=session, contact=contact, via="keyword:START", clock=clock)
        session.commit()
        assert (contact.status, contact.opted_out_at, contact.opted_out_via) == (
            "subscribed",
            None,
            None,
        )
        history = consent_history(session=session, contact_id=contact.id or 0)
        assert [(e.kind, e.source) for e in history] == [
            ("opt_out", "keyword:STOP"),
            ("opt_out", "api"),
            ("opt_in", "keyword:START"),
        ]


def test_consent_is_recorded_and_its_history_kept(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        contact = create_contact(session=session, phone="0612345678", clock=clock, region="FR")
        given = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
        record_consent(
            session=session,
            contact=contact,
            consent_type="implicite",
            source="shop",
            clock=clock,
            at=given,
        )
        record_consent(
            session=session,
            contact=contact,
            consent_type="express",
            source="web form",
            clock=clock,
        )
        session.commit()
        assert (contact.consent_type, contact.consent_source, contact.consent_at) == (
            "express",
            "web form",
            clock.now(),
        )
        history = consent_history(session=session, contact_id=contact.id or 0)
        assert [(e.kind, e.source, e.at) for e in history] == [
            ("implied", "shop", given),
            ("express", "web form", clock.now()),
        ]
        with pytest.raises(InvalidInput, match="unknown consent type 'maybe'"):
            record_consent(
                session=session, contact=contact, consent_type="maybe", source="", clock=clock
            )


def test_merge_fields(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        contact = create_contact(
            session=session,
            phone="+79123456789",
            clock=clock,
            region="FR",
            first_name="Ivan",
            email="ivan@example.com",
            fields={"city": "Perm", "first_name": "shadowed"},
        )
        fields = contact_fields(contact)
    assert fields["first_name"] == "Ivan"
    assert fields["city"] == "Perm"
    assert fields["phone"] == "+79123456789"
    assert fields["email"] == "ivan@example.com"
    assert fields["language"] == "en"
    assert fields["timezone"] == contact.timezones.split()[0]
    assert fields["last_name"] == ""


@pytest.mark.parametrize(
    ("written", "language"),
    [("fr", "fr"), ("FR", "fr"), ("fr-CA", "fr"), ("Français", "fr"), ("french", "fr"),
     ("en", "en"), ("EN_gb", "en"), ("anglais", "en"), ("English", "en")],
)  # fmt: skip
def test_languages_as_people_write_them(written: str, language: str) -> None:
    assert normalize_language(written) == language


def test_unsupported_languages_and_consent_types() -> None:
    with pytest.raises(InvalidInput, match="unsupported language 'Deutsch': use fr or en"):
        normalize_language("Deutsch")
    assert normalize_consent_type("Explicite") == "express"
    assert normalize_consent_type("implied") == "implied"


def test_bad_values_are_refused(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        with pytest.raises(InvalidInput, match="not an email address"):
            create_contact(
                session=session, phone="0612345678", clock=clock, region="FR", email="nope"
            )
        with pytest.raises(InvalidInput, match="first_name is longer than 200"):
            create_contact(
                session=session,
                phone="0612345678",
                clock=clock,
                region="FR",
                first_name="x" * 201,
            )
        with pytest.raises(InvalidInput, match="unknown time zone"):
            create_contact(
                session=session,
                phone="0612345678",
                clock=clock,
                region="FR",
                timezones="Mars/Olympus",
            )
