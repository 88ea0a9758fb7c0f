"""One campaign's screen through a browser's eyes (HTTP): the test send, the send summary
and its confirmation, cancelling with confirmation, editing drafts and duplicating."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from shortener.models import Link
from tests.clock import FrozenClock
from tests.web.test_ui import audience, csrf, marketer  # noqa: F401  (a fixture)


def new_campaign(client: TestClient, group: int, **fields: str) -> str:
    """A campaign created through the composer; its screen's path."""
    token = csrf(client.get("/ui/campaigns/new").text)
    form = {
        "csrf": token,
        "name": "Noël",
        "type": "promotional",
        "template": "Bonjour {{ contact.first_name }} -20% {{ link }}",
        "target_url": "https://shop.example/noel",
        f"group-{group}": "on",
        "schedule": "now",
        "rate": "10",
        **fields,
    }
    created = client.post("/ui/campaigns/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    return str(created.headers["location"]).split("?")[0]


def messages(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.execute(select(Message).order_by(col(Message.id))).scalars())


def test_a_test_send_is_a_made_up_sample_unless_a_contact_is_picked(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)
    path = new_campaign(marketer, group)
    screen = marketer.get(path).text
    assert 'id="test-contact"' in screen and "A sample person made up for tests" in screen
    token = csrf(screen)
    # Zoé's number, typed: the test still goes out as the sample, not as Zoé.
    sent = marketer.post(
        path + "/test", data={"csrf": token, "phone": "+33612345600", "contact_id": ""}
    )
    assert sent.status_code == 200 and "Test message queued." in sent.text
    with Session(engine) as session:
        bob = session.execute(select(Contact).where(col(Contact.first_name) == "Bob")).scalar_one()
    picked = marketer.post(
        path + "/test", data={"csrf": token, "phone": "+33781000001", "contact_id": str(bob.id)}
    )
    assert picked.status_code == 200
    sample, as_bob = messages(engine)
    assert sample.text.startswith("Bonjour Camille -20% ") and sample.phone == "+33612345600"
    assert as_bob.text.startswith("Bonjour Bob -20% ") and as_bob.phone == "+33781000001"
    assert sample.is_test and as_bob.is_test and sample.contact_id is None
    with Session(engine) as session:
        links: list[Any] = [session.get(Link, m.link_id) for m in (sample, as_bob)]
    assert all(link.is_test and link.contact_id is None for link in links)
    bad = marketer.post(path + "/test", data={"csrf": token, "phone": "+33781000001",
                                                "contact_id": "Bob"})
    assert bad.status_code == 422 and "choose a contact" in bad.text
    with Session(engine) as session:
        assert session.execute(select(Campaign.status)).scalar() == "draft"
