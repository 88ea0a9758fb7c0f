"""The suppression list, as a marketer meets it: a contact who opted out and was erased
comes back opted out, by an import or by texting in; only they can opt back in."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from sender.audience.models import ConsentEvent, Contact
from sender.audience.suppression import SuppressedPhone, SuppressionSalt

CSV = {"Content-Type": "text/csv"}
PEOPLE = "phone,first_name,consent_type\n0612345678,Léa,express\n0751234567,Zoé,express\n"


def contact(engine: Engine, phone: str) -> Contact:
    with Session(engine) as session:
        found = session.execute(select(Contact).where(col(Contact.phone) == phone)).scalar_one()
        return found


def test_an_erased_opt_out_comes_back_opted_out_until_they_opt_in(
    api: TestClient, engine: Engine
) -> None:
    imported = api.post("/api/contacts/import", content=PEOPLE.encode(), headers=CSV)
    assert imported.status_code == 200
    stop = api.post("/api/inbound", json={"from": "+33612345678", "text": "STOP"})
    assert stop.status_code == 200
    lea, zoe = contact(engine, "+33612345678"), contact(engine, "+33751234567")
    assert api.delete(f"/api/contacts/{lea.id}").status_code == 200
    assert api.delete(f"/api/contacts/{zoe.id}").status_code == 200  # never opted out

    with Session(engine) as session:  # a digest of Léa's number only, never the number
        [kept] = session.execute(select(SuppressedPhone)).scalars().all()
        salt = session.execute(select(col(SuppressionSalt.salt))).scalar_one()
    assert kept.digest == hashlib.sha256(f"{salt}+33612345678".encode()).hexdigest()
    assert "612345678" not in kept.digest

    again = api.post("/api/contacts/import", content=PEOPLE.encode(), headers=CSV)
    assert again.status_code == 200 and again.json()["imported"] == 2
    back, zoe_back = contact(engine, "+33612345678"), contact(engine, "+33751234567")
    assert (back.status, back.opted_out_via) == ("opted_out", "suppression list")
    assert zoe_back.status == "subscribed"  # erased, but had not opted out
    with Session(engine) as session:
        history = session.execute(
            select(ConsentEvent.kind, ConsentEvent.source).where(
                col(ConsentEvent.contact_id) == back.id
            )
        ).all()
    assert ("opt_out", "suppression list") in [tuple(row) for row in history]

    # Only she can undo it: START subscribes her and takes the number off the list.
    start = api.post("/api/inbound", json={"from": "+33612345678", "text": "START"})
    assert start.status_code == 200
    assert contact(engine, "+33612345678").status == "subscribed"
    with Session(engine) as session:
        assert session.execute(select(SuppressedPhone)).scalars().all() == []


def test_a_message_to_the_number_after_erasure_is_refused_until_they_text_start(
    api: TestClient, engine: Engine
) -> None:
    api.post("/api/contacts/import", content=PEOPLE.encode(), headers=CSV)
    api.post("/api/inbound", json={"from": "+33751234567", "text": "ARRET"})
    api.delete(f"/api/contacts/{contact(engine, '+33751234567').id}")
    notice = {"phone": "+33751234567", "text": "Votre colis arrive", "type": "informational"}
    refused = api.post("/api/messages", json=notice)
    assert refused.status_code == 409 and "opted out" in refused.json()["error"]["message"]
    start = api.post("/api/inbound", json={"from": "+33751234567", "text": "START"})
    assert start.status_code == 200  # a new contact, subscribed by their own request
    assert contact(engine, "+33751234567").status == "subscribed"
    assert api.post("/api/messages", json=notice).status_code in (200, 201, 202)
