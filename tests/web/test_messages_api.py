"""`POST /api/messages`: a unitary send is one unit of work, rendered before it writes."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.models import Contact
from sender.delivery.models import Message
from shortener.models import Link
from tests.clock import FrozenClock


def counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Contact, Link, Message)
        )


def test_a_template_that_fails_to_render_leaves_no_contact_and_no_link(
    api: TestClient, engine: Engine
) -> None:
    answer = api.post(
        "/api/messages",
        json={
            "phone": "+33612345678",
            "template": "{{ link }} {{ contact.first_name.format(7) }} {{ 'a' * 100000000 }}",
            "url": "https://shop.example/cart",
            "type": "administrative",
        },
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "template_error"
    assert counts(engine) == (0, 0, 0)


def test_a_message_past_the_segment_limit_is_refused_and_writes_nothing(
    api: TestClient, engine: Engine
) -> None:
    answer = api.post(
        "/api/messages",
        json={"phone": "+33612345678", "text": "a" * 1531, "type": "administrative"},
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "too_many_segments"
    assert counts(engine) == (0, 0, 0)


def test_a_runaway_template_is_refused_quickly_with_a_422(api: TestClient, engine: Engine) -> None:
    answer = api.post(
        "/api/messages",
        json={
            "phone": "+33612345678",
            "template": "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}",
            "type": "administrative",
        },
    )

    assert answer.status_code == 422, answer.text
    assert counts(engine) == (0, 0, 0)


def test_a_send_creates_the_contact_the_link_and_the_message_together(
    api: TestClient, engine: Engine
) -> None:
    answer = api.post(
        "/api/messages",
        json={
            "phone": "+15145550100",
            "template": "Votre panier : {{ link }}",
            "url": "https://shop.example/cart",
            "type": "administrative",
        },
    )

    assert answer.status_code == 202, answer.text
    assert counts(engine) == (1, 1, 1)
    with Session(engine) as session:
        message = session.execute(select(Message)).scalar_one()
        link = session.execute(select(Link)).scalar_one()
    assert message.text == f"Votre panier : https://ex.co/{link.code}"
    assert message.link_id == link.id
    assert link.contact_id == message.contact_id


def test_a_promotional_message_names_the_sender_number_in_french(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    sender = api.post(
        "/api/senders",
        json={
            "kind": "long_code",
            "value": "+15145550199",
            "rate": 5,
            "allowed_types": ["promotional"],
        },
    )
    assert sender.status_code == 201, sender.text
    with session_scope(engine) as session:
        contact = create_contact(
            session=session, phone="+15145550100", clock=clock, region="CA", language="fr"
        )
        record_consent(
            session=session, contact=contact, consent_type="express", source="test", clock=clock
        )
        contact_id = contact.id

    answer = api.post(
        "/api/messages",
        json={
            "contact_id": contact_id,
            "text": "Soldes ce week-end",
            "type": "promotional",
            "sender_id": sender.json()["id"],
        },
    )

    assert answer.status_code == 202, answer.text
    with Session(engine) as session:
        message = session.execute(select(Message)).scalar_one()
    assert message.text == "Soldes ce week-end\nSTOP au +15145550199"
