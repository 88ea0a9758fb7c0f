"""Contacts that can be listed, searched, corrected and erased through the HTTP API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from sender.audience.models import ConsentEvent, Contact, GroupMember
from sender.campaigns.models import Campaign
from sender.delivery.models import InboundMessage, Message
from shortener.models import Click, Link
from tests.clock import FrozenClock

CSV = {"Content-Type": "text/csv"}
PEOPLE = (
    "phone,first_name,last_name,email,ville,consent_type\n"
    "0612345678,Léa,Martin,lea@example.com,Lyon,express\n"
    "0751234567,Zoé,Petit,zoe@example.org,Paris,implied\n"
    "+447911123456,Sam,Smith,sam@example.co.uk,London,express\n"
    "0612340000,Max,Martinez,,Paris,\n"
)


def load(api: TestClient) -> None:
    response = api.post("/api/contacts/import", content=PEOPLE.encode(), headers=CSV)
    assert response.status_code == 200 and response.json()["imported"] == 4, response.text


def phones(body: dict[str, Any]) -> list[str]:
    return [c["phone"] for c in body["contacts"]]


def test_contacts_are_listed_a_page_at_a_time(api: TestClient) -> None:
    load(api)
    first = api.get("/api/contacts", params={"limit": 3}).json()
    assert phones(first) == ["+33612345678", "+33751234567", "+447911123456"]
    assert first["next_after"] == 3
    assert first["contacts"][0]["fields"] == {"ville": "Lyon"}
    rest = api.get("/api/contacts", params={"limit": 3, "after": first["next_after"]}).json()
    assert (phones(rest), rest["next_after"]) == (["+33612340000"], None)


def test_search_on_phone_names_and_email(api: TestClient) -> None:
    load(api)

    def search(q: str) -> list[str]:
        response = api.get("/api/contacts", params={"q": q})
        assert response.status_code == 200, response.text
        return phones(response.json())

    assert search("martin") == ["+33612345678", "+33612340000"]  # Martin, Martinez
    assert search("ZOÉ") == ["+33751234567"]
    assert search("example.co.uk") == ["+447911123456"]
    assert search("06 12 34 56 78") == ["+33612345678"]  # a whole number, as written
    assert search("0612") == ["+33612345678", "+33612340000"]  # part of one
    assert search("100%_x") == []  # wildcards are text


def test_the_list_narrows_to_a_group_or_a_segment(api: TestClient) -> None:
    load(api)
    group = api.post("/api/groups", json={"name": "VIP"}).json()
    api.post(f"/api/groups/{group['id']}/members", json={"contact_ids": [2, 3]})
    segment = api.post(
        "/api/segments",
        json={
            "name": "Paris",
            "filters": [{"field": "fields.ville", "op": "eq", "value": "Paris"}],
        },
    ).json()
    in_group = api.get("/api/contacts", params={"group": group["id"]}).json()
    assert phones(in_group) == ["+33751234567", "+447911123456"]
    in_segment = api.get("/api/contacts", params={"segment": segment["id"], "q": "max"}).json()
    assert phones(in_segment) == ["+33612340000"]
    assert api.get("/api/contacts", params={"group": 99}).status_code == 404


def test_bad_list_parameters_are_422(api: TestClient) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "x"},
        {"after": "-1"},
        {"after": "99999999999999999999"},
        {"group": "a"},
        {"q": "x" * 201},
    ):
        response = api.get("/api/contacts", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["message"]
    assert api.get("/api/contacts", params={"group": "99999999999"}).status_code == 404


def test_a_contact_is_corrected(api: TestClient, clock: FrozenClock) -> None:
    load(api)
    clock.advance(timedelta(hours=1))
    response = api.patch(
        "/api/contacts/4",
        json={
            "phone": "+1 514 555 2420",
            "first_name": " Maxime ",
            "email": "max@example.com",
            "fields": {"ville": None, "code_postal": "H2X"},
            "consent_type": "express",
            "consent_source": "boutique",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["phone"], body["first_name"], body["email"]) == (
        "+15145552420",
        "Maxime",
        "max@example.com",
    )
    assert body["fields"] == {"code_postal": "H2X"}
    assert body["timezones"] == ["America/Toronto"]  # they follow the new number
    assert (body["consent_type"], body["consent_source"]) == ("express", "boutique")
    assert body["updated_at"] == "2026-11-24T13:00:00Z"
    history = api.get("/api/contacts/4/history").json()
    assert [(e["kind"], e["source"]) for e in history["consent_history"]] == [
        ("express", "boutique")
    ]
    opted = api.patch("/api/contacts/4", json={"opted_out": True}).json()
    assert (opted["status"], opted["opted_out_via"]) == ("opted_out", "api")


def test_bad_corrections_are_clear(api: TestClient) -> None:
    load(api)
    taken = api.patch("/api/contacts/4", json={"phone": "06 12 34 56 78"})
    assert taken.status_code == 409
    assert taken.json()["error"]["message"] == "contact 1 already has the phone +33612345678"
    cases = {
        "not a valid number for FR: 6045558762": {"phone": "6045558762"},
        "not an email address": {"email": "nope"},
        "unsupported language": {"language": "klingon"},
        "unknown time zone": {"timezones": "Mars/Olympus"},
        "a custom field name": {"fields": {"bad name!": "x"}},
        "subscribes again only by asking": {"opted_out": False},
    }
    api.patch("/api/contacts/4", json={"opted_out": True})
    for message, body in cases.items():
        response = api.patch("/api/contacts/4", json=body)
        assert response.status_code == 422, (body, response.text)
        assert message in response.json()["error"]["message"]
    assert api.patch("/api/contacts/4", json={"status": "x"}).status_code == 422
    assert api.patch("/api/contacts/99", json={"first_name": "x"}).status_code == 404
    # Nothing half-done: the contact is as it was.
    assert api.get("/api/contacts/4").json()["first_name"] == "Max"


def _history_of_lea(engine: Engine, clock: FrozenClock, api: TestClient) -> int:
    """Léa received a campaign, clicked it twice from two devices, replied and opted out."""
    now = clock.now()
    group = api.post("/api/groups", json={"name": "Lyon"}).json()
    api.post(f"/api/groups/{group['id']}/members", json={"contact_ids": [1, 2]})
    with Session(engine) as session:
        campaign = Campaign(
            name="Soldes", type="promotional", template="x", status="sending",
            created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        for contact_id, phone in ((1, "+33612345678"), (2, "+33751234567")):
            session.add(
                Message(
                    campaign_id=campaign.id, contact_id=contact_id, phone=phone,
                    type="promotional", text=f"-20% pour {phone}", state="delivered",
                    due_at=now, planned_at=now, sent_at=now, delivered_at=now,
                )
            )  # fmt: skip
            link = Link(
                code=f"code{contact_id}", target_url="https://shop.example/",
                contact_id=contact_id, campaign_id=campaign.id, created_at=now,
            )  # fmt: skip
            session.add(link)
            session.flush()
            assert link.id is not None
            for visitor in ("phone", "tablet"):
                session.add(
                    Click(
                        link_id=link.id, contact_id=contact_id, clicked_at=now, method="GET",
                        is_bot=False, user_agent=f"Mozilla/5.0 ({visitor})",
                        referrer="https://mail.example/", ip="192.0.2.0",
                        visitor=f"{visitor}{contact_id}",
                    )
                )  # fmt: skip
        # A planned message not sent yet.
        session.add(
            Message(
                campaign_id=campaign.id, contact_id=1, phone="+33612345678",
                type="promotional", text="later", state="planned", due_at=now, planned_at=now,
            )
        )  # fmt: skip
        session.commit()
        campaign_id = campaign.id
    clock.advance(timedelta(minutes=5))
    reply = api.post("/api/inbound", json={"from": "+33612345678", "text": "Jusqu'à quand ?"})
    assert reply.json()["campaign_id"] == campaign_id
    api.post("/api/inbound", json={"from": "+33612345678", "text": "STOP"})
    return campaign_id


def test_erasure_removes_personal_data_everywhere_and_keeps_the_counts(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    load(api)
    campaign_id = _history_of_lea(engine, clock, api)
    before = api.get(f"/api/campaigns/{campaign_id}/stats").json()
    zoe_before = api.get("/api/contacts/2/history").json()

    erased = api.delete("/api/contacts/1")
    assert erased.status_code == 200, erased.text
    assert erased.json() == {
        "contact_id": 1,
        "messages": 3,  # the campaign's, the planned one and the STOP confirmation
        "inbound": 2,
        "consent_events": 2,
        "memberships": 1,
        "clicks": 2,
        "webhook_payloads": 0,  # no webhook takes replies here
    }

    assert api.get("/api/contacts/1").status_code == 404
    assert api.get("/api/contacts/1/history").status_code == 404
    assert api.delete("/api/contacts/1").status_code == 404
    assert api.patch("/api/contacts/1", json={"first_name": "x"}).status_code == 404
    to_erased = {"contact_id": 1, "text": "Bonjour", "type": "informational"}
    assert api.post("/api/messages", json=to_erased).status_code == 404
    assert "+33612345678" not in phones(api.get("/api/contacts").json())
    assert api.get("/api/contacts", params={"q": "Léa"}).json()["contacts"] == []

    with Session(engine) as session:
        row = session.get(Contact, 1)
        assert row is not None
        assert (row.phone, row.first_name, row.last_name, row.email, row.fields) == (
            "erased-1",
            "",
            "",
            "",
            {},
        )
        assert (row.status, row.consent_type, row.consent_at) == ("erased", None, None)
        consents = session.exec(select(ConsentEvent).where(col(ConsentEvent.contact_id) == 1))
        assert consents.all() == []
        members = session.exec(select(GroupMember).where(col(GroupMember.contact_id) == 1))
        assert members.all() == []
        messages = session.exec(select(Message).where(col(Message.contact_id) == 1)).all()
        assert messages and all((m.phone, m.text) == ("", "") for m in messages)
        assert "planned" not in {m.state for m in messages}
        assert "delivered" in {m.state for m in messages}
        assert session.exec(
            select(func.count()).select_from(Message).where(col(Message.phone) == "+33612345678")
        ).one() == 0
        inbound = session.exec(select(InboundMessage).where(col(InboundMessage.contact_id) == 1))
        assert [(i.phone, i.text, i.action) for i in inbound] == [
            ("", "", "reply"),
            ("", "", "opt_out"),
        ]
        clicks = session.exec(select(Click).where(col(Click.contact_id) == 1)).all()
        assert len(clicks) == 2
        assert all((c.ip, c.user_agent, c.referrer) == ("", "", "") for c in clicks)
        assert len({c.visitor for c in clicks}) == 2
        assert not {c.visitor for c in clicks} & {"phone1", "tablet1"}
        # Zoé's clicks are hers still.
        zoe = session.exec(select(Click).where(col(Click.contact_id) == 2)).all()
        assert [c.ip for c in zoe] == ["192.0.2.0", "192.0.2.0"]

    after = api.get(f"/api/campaigns/{campaign_id}/stats").json()
    # Every figure stays, but the message not sent yet will never go.
    assert before.pop("states") == {"delivered": 2, "planned": 1}
    assert after.pop("states") == {"delivered": 2, "skipped": 1}
    before.pop("production"), after.pop("production")
    assert after == before
    engagement = after["engagement"]
    assert (engagement["unique_clicks"], engagement["human_clicks"]) == (2, 4)
    assert (engagement["replies"], engagement["opt_outs"]) == (2, 1)
    assert api.get("/api/contacts/2/history").json() == zoe_before
    # The number can come back as a new contact, who is someone new, but she had sent
    # STOP: the suppression list keeps her opted out (tests/web/test_suppression.py).
    again = api.post("/api/contacts/import", content=b"phone\n0612345678\n", headers=CSV)
    assert again.json()["imported"] == 1
    found = api.get("/api/contacts", params={"q": "+33612345678"}).json()["contacts"]
    assert [(c["phone"], c["status"]) for c in found] == [("+33612345678", "opted_out")]
