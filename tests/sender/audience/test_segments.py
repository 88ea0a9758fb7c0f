"""Segments: the filter language, checked when saved, evaluated when used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms import i18n
from richsms.errors import Conflict, InvalidInput
from sender.audience.contacts import create_contact, opt_out, record_consent
from sender.audience.models import Contact
from sender.audience.segments import create_segment, segment_condition, validate_filters
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from shortener.models import Click, Link
from tests.clock import FrozenClock


def message(contact: Contact, state: str, clock: FrozenClock, **extra: Any) -> Message:
    return Message(
        contact_id=contact.id,
        phone=contact.phone,
        type="promotional",
        text="Hi",
        state=state,
        due_at=clock.now(),
        planned_at=clock.now(),
        **extra,
    )


def click(session: Session, contact: Contact, clock: FrozenClock, *, bot: bool) -> None:
    link = Link(
        code=f"c{contact.id}{bot:d}",
        target_url="https://shop.example/",
        contact_id=contact.id,
        created_at=clock.now(),
    )
    session.add(link)
    session.flush()
    session.add(
        Click(
            link_id=link.id or 0,
            contact_id=contact.id,
            clicked_at=clock.now(),
            method="GET",
            is_bot=bot,
            user_agent="x",
            referrer="",
            ip="192.0.2.0",
            visitor="v",
        )
    )


@pytest.fixture
def session(engine: Engine, clock: FrozenClock) -> Iterator[Session]:
    """Léa (fr, Paris, express, 2 messages received, clicked), Bob (en, Lyon, implied,
    1 message, only a link preview clicked), Zoé (fr, no city, no consent, opted out,
    created a day later)."""
    with Session(engine) as session:
        lea = create_contact(
            session=session,
            phone="0612345678",
            clock=clock,
            region="FR",
            first_name="Léa",
            fields={"city": "Paris", "zip": "75001"},
        )
        bob = create_contact(
            session=session,
            phone="+447911123456",
            clock=clock,
            region="FR",
            first_name="Bob",
            fields={"city": "Lyon"},
        )
        clock.advance(timedelta(days=1))
        zoe = create_contact(
            session=session, phone="0751234567", clock=clock, region="FR", first_name="Zoé"
        )
        record_consent(
            session=session, contact=lea, consent_type="express", source="web", clock=clock
        )
        record_consent(
            session=session, contact=bob, consent_type="implied", source="shop", clock=clock
        )
        opt_out(session=session, contact=zoe, via="keyword:STOP", clock=clock)
        session.add_all(
            [
                message(lea, "sent", clock),
                message(lea, "delivered", clock),
                message(lea, "failed", clock),
                message(lea, "delivered", clock, is_test=True),
                message(bob, "delivered", clock),
                message(zoe, "queued", clock),
            ]
        )
        click(session, lea, clock, bot=False)
        click(session, bob, clock, bot=True)
        session.commit()
        yield session


def names(session: Session, filters: list[dict[str, Any]]) -> set[str]:
    rows = session.exec(select(col(Contact.first_name)).where(segment_condition(filters)))
    return set(rows)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([], {"Léa", "Bob", "Zoé"}),
        ([{"field": "fields.city", "op": "eq", "value": "Paris"}], {"Léa"}),
        ([{"field": "fields.city", "op": "ne", "value": "Paris"}], {"Bob", "Zoé"}),
        ([{"field": "fields.city", "op": "in", "value": ["Paris", "Lyon"]}], {"Léa", "Bob"}),
        ([{"field": "fields.city", "op": "not_in", "value": ["Paris"]}], {"Bob", "Zoé"}),
        ([{"field": "fields.city", "op": "contains", "value": "AR"}], {"Léa"}),
        ([{"field": "fields.city", "op": "startswith", "value": "ly"}], {"Bob"}),
        ([{"field": "fields.city", "op": "exists"}], {"Léa", "Bob"}),
        ([{"field": "fields.city", "op": "not_exists"}], {"Zoé"}),
        ([{"field": "fields.zip", "op": "gte", "value": 75000}], {"Léa"}),
        ([{"field": "fields.zip", "op": "lt", "value": "75000"}], set()),
        ([{"field": "language", "op": "eq", "value": "FR"}], {"Léa", "Zoé"}),
        ([{"field": "language", "op": "ne", "value": "français"}], {"Bob"}),
        ([{"field": "consent_type", "op": "eq", "value": "explicite"}], {"Léa"}),
        ([{"field": "consent_type", "op": "ne", "value": "express"}], {"Bob", "Zoé"}),
        ([{"field": "consent_type", "op": "not_exists"}], {"Zoé"}),
        ([{"field": "status", "op": "eq", "value": "opted_out"}], {"Zoé"}),
        ([{"field": "first_name", "op": "startswith", "value": "l"}], {"Léa"}),
        ([{"field": "phone", "op": "startswith", "value": "+44"}], {"Bob"}),
        ([{"field": "email", "op": "not_exists"}], {"Léa", "Bob", "Zoé"}),
        ([{"field": "messages_received", "op": "gte", "value": 2}], {"Léa"}),
        ([{"field": "messages_received", "op": "eq", "value": 1}], {"Bob"}),
        ([{"field": "messages_received", "op": "eq", "value": 0}], {"Zoé"}),
        ([{"field": "messages_received", "op": "lt", "value": 2}], {"Bob", "Zoé"}),
        ([{"field": "clicked", "op": "eq", "value": True}], {"Léa"}),
        ([{"field": "clicked", "op": "eq", "value": False}], {"Bob", "Zoé"}),
        ([{"field": "clicked", "op": "ne", "value": True}], {"Bob", "Zoé"}),
        ([{"field": "created_at", "op": "gt", "value": "2026-11-24T12:00:00Z"}], {"Zoé"}),
        ([{"field": "created_at", "op": "lte", "value": "2026-11-24T12:00:00"}], {"Léa", "Bob"}),
        (
            [
                {"field": "language", "op": "eq", "value": "fr"},
                {"field": "status", "op": "eq", "value": "subscribed"},
            ],
            {"Léa"},
        ),
    ],
)
def test_filters_select_the_right_contacts(
    session: Session, filters: list[dict[str, Any]], expected: set[str]
) -> None:
    assert names(session, filters) == expected


def test_a_segment_is_evaluated_each_time_it_is_used(session: Session, clock: FrozenClock) -> None:
    segment = create_segment(
        session=session,
        name="Parisiens",
        filters=[{"field": "fields.city", "op": "eq", "value": "Paris"}],
        clock=clock,
    )
    assert names(session, segment.filters) == {"Léa"}
    create_contact(
        session=session,
        phone="0612345670",
        clock=clock,
        region="FR",
        first_name="Max",
        fields={"city": "Paris"},
    )
    session.commit()
    assert names(session, segment.filters) == {"Léa", "Max"}
    with pytest.raises(Conflict, match="Parisiens"):
        create_segment(session=session, name="Parisiens", filters=[], clock=clock)


def test_filters_are_stored_normalized() -> None:
    assert validate_filters(
        [
            {"field": "language", "op": "in", "value": ["FR", "English"]},
            {"field": "fields.zip", "op": "eq", "value": 75001},
            {"field": "created_at", "op": "gte", "value": "2026-01-01T01:00:00+01:00"},
            {"field": "email", "op": "exists"},
        ]
    ) == [
        {"field": "language", "op": "in", "value": ["fr", "en"]},
        {"field": "fields.zip", "op": "eq", "value": "75001"},
        {"field": "created_at", "op": "gte", "value": "2026-01-01T00:00:00+00:00"},
        {"field": "email", "op": "exists", "value": None},
    ]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"field": "city"}, "filters must be a list"),
        (["city"], "filters[0]: a condition is an object"),
        ([{"field": "language", "op": "eq", "value": "fr"}, {"field": "frist_name", "op": "eq",
          "value": "x"}], "filters[1]: unknown field 'frist_name'"),
        ([{"field": "redeemed", "op": "eq", "value": True}], "filters[0]: the 'redeemed' filter "
         "is not available: coupons do not exist yet"),
        ([{"field": "first_name", "op": "like", "value": "x"}], "filters[0]: unknown op 'like'"),
        ([{"field": "first_name", "op": "eq"}], "filters[0]: first_name is compared with text"),
        ([{"field": "first_name", "op": "eq", "value": 3}], "compared with text, not 3"),
        ([{"field": "first_name", "op": "exists", "value": "x"}], "exists takes no value"),
        ([{"field": "first_name", "op": "in", "value": []}], "in takes a list of 1 to"),
        ([{"field": "first_name", "op": "contains", "value": ""}], "contains needs a non-empty"),
        ([{"field": "language", "op": "eq", "value": "de"}], "filters[0]: unsupported language"),
        ([{"field": "status", "op": "eq", "value": "gone"}], "'gone' is not one of subscribed"),
        ([{"field": "messages_received", "op": "contains", "value": 1}], "unknown op 'contains'"),
        ([{"field": "messages_received", "op": "gt", "value": -1}], "whole number from 0"),
        ([{"field": "messages_received", "op": "gt", "value": True}], "whole number from 0"),
        ([{"field": "clicked", "op": "eq", "value": "yes"}], "compared with true or false"),
        ([{"field": "created_at", "op": "gt", "value": "yesterday"}], "not an ISO 8601 time"),
        ([{"field": "fields.a b", "op": "eq", "value": "x"}], "letters, digits and _"),
        ([{"field": "first_name", "op": "eq", "value": "x", "extra": 1}], "unexpected key"),
        ([{"op": "eq", "value": "x"}], "filters[0]: 'field' is missing"),
        ([{"field": "first_name", "value": "x"}], "filters[0]: 'op' is missing"),
    ],
)  # fmt: skip
def test_every_mistake_names_its_condition(filters: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_filters(filters)
    assert message in caught.value.message
    assert caught.value.code == "invalid_filter"


def test_every_mistake_is_told_in_french_too() -> None:
    """The UI tells each mistake in the marketer's language (the API keeps the English)."""
    french = i18n.translations("fr").gettext
    told = []
    for filters in (
        [{"field": "status", "op": "eq", "value": "perdu"}],
        [{"field": "first_name", "op": "in", "value": []}],
        [{"field": "first_name", "op": "eq", "value": 3}],
    ):
        with pytest.raises(InvalidInput) as caught:
            validate_filters(filters)
        told.append(caught.value.told(french))
    assert told == [
        "condition 1 : statut inconnu 'perdu' : choisissez abonné ou désabonné",
        "condition 1 : cet opérateur prend une liste de 1 à 1000 valeurs, séparées par des "
        "virgules",
        "condition 1 : ce champ se compare à un texte, pas à 3",
    ]


def test_a_status_written_in_french_is_understood() -> None:
    written = [{"field": "status", "op": "in", "value": ["Abonné", "désabonnée"]}]
    assert validate_filters(written)[0]["value"] == ["subscribed", "opted_out"]


def test_campaign_messages_count_like_unitary_ones(session: Session, clock: FrozenClock) -> None:
    now = clock.now()
    campaign = Campaign(
        name="Soldes", type="promotional", template="Hi", created_at=now, updated_at=now
    )
    session.add(campaign)
    session.flush()
    bob = session.exec(select(Contact).where(col(Contact.first_name) == "Bob")).one()
    session.add(message(bob, "sent", clock, campaign_id=campaign.id))
    session.commit()
    received_two = [{"field": "messages_received", "op": "eq", "value": 2}]
    assert names(session, received_two) == {"Léa", "Bob"}
