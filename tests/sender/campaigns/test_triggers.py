"""Automations started by outside events (sender/campaigns/triggers.py), through the API a
shop or a weather feed calls with a marketer's token, on the real database; the chore
loop's step turns what was accepted into messages."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.accounts.roles import Role
from richsms.db import session_scope
from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.settings import Settings
from sender.audience.contacts import create_contact, opt_out, record_consent
from sender.audience.models import Contact
from sender.campaigns.trigger_sending import process_triggers
from sender.campaigns.triggers import Accepted, TriggerRequest, accept_triggers
from sender.delivery.models import Message
from shortener.codes import CodeMaker
from tests.clock import FrozenClock
from tests.web.test_ui import make_user

HEAT = (
    "Il fait {{ event.temperature }} degrés, {{ contact.first_name }} : "
    "-{{ event.temperature }} % !"
)


@pytest.fixture
def marketer(client: TestClient, engine: Engine, clock: FrozenClock) -> TestClient:
    """The client with a marketer's API token."""
    make_user(engine, clock, "marketer@shop.example", Role.MARKETER)
    with session_scope(engine) as session:
        token = create_token(
            session=session, name="shop", clock=clock, user_email="marketer@shop.example"
        )
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def contact(
    engine: Engine, clock: FrozenClock, phone: str = "+33612345678", consent: bool = True
) -> int:
    with session_scope(engine) as session:
        made = create_contact(
            session=session, phone=phone, clock=clock, region="FR", first_name="Léa"
        )
        if consent:
            record_consent(
                session=session, contact=made, consent_type="express", source="test", clock=clock
            )
        assert made.id is not None
        return made.id


def automation(
    api: TestClient, template: str = HEAT, type: str = "promotional", **more: Any
) -> dict[str, Any]:
    answer = api.post(
        "/api/automations",
        json={"name": "Heatwave", "kind": "event", "template": template, "type": type, **more},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def process(engine: Engine, clock: FrozenClock, settings: Settings) -> int:
    return process_triggers(engine=engine, clock=clock, settings=settings, codes=CodeMaker("k"))


def messages(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.scalars(select(Message).order_by(Message.id)))  # type: ignore[arg-type]


def test_a_trigger_sent_twice_with_one_idempotency_key_sends_one_message(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    contact_id = contact(engine, clock)
    heat = automation(marketer)
    url = f"/api/automations/{heat['id']}/trigger"
    assert heat["trigger_url"] == f"https://pages.ex.co/api/automations/{heat['id']}/trigger"
    event = {"contact_id": contact_id, "data": {"temperature": 28}}
    first = marketer.post(url, json=event, headers={"Idempotency-Key": "meteo-2026-07-01"})
    again = marketer.post(url, json=event, headers={"Idempotency-Key": "meteo-2026-07-01"})
    assert first.status_code == again.status_code == 202, first.text
    assert first.json() == again.json()  # the same answer
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert process(engine, clock, settings) == 1
    marketer.post(url, json=event, headers={"Idempotency-Key": "meteo-2026-07-01"})
    assert process(engine, clock, settings) == 0
    [sent] = messages(engine)
    assert sent.text.startswith("Il fait 28 degrés, Léa : -28 % !")
    assert sent.automation_id == heat["id"] and sent.contact_id == contact_id
    assert sent.window == "08:00-21:00"  # a promotion waits for daytime, as any other
    shown = marketer.get(f"/api/automations/{heat['id']}/triggers/{first.json()['trigger_id']}")
    assert shown.json()["state"] == "enqueued" and shown.json()["message_id"] == sent.id

    # The same key for another event is a mistake, said so; after 24 hours it is free.
    other = {"contact_id": contact_id, "data": {"temperature": 31}}
    reused = marketer.post(url, json=other, headers={"Idempotency-Key": "meteo-2026-07-01"})
    assert reused.status_code == 409 and "Idempotency-Key" in reused.json()["error"]["message"]
    clock.advance(timedelta(hours=24, seconds=1))
    later = marketer.post(url, json=other, headers={"Idempotency-Key": "meteo-2026-07-01"})
    assert later.status_code == 202 and later.json() != first.json()
    # Without a key, each request is an event of its own.
    for _ in range(2):
        assert marketer.post(url, json=other).status_code == 202
    assert process(engine, clock, settings) == 3


def test_event_fields_are_checked_when_saved_and_when_triggered(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    contact_id = contact(engine, clock)
    cart = automation(
        marketer,
        "{{ contact.first_name }}, votre {{ event.product }} vous attend"
        "{% if event.discount %} (-{{ event.discount }} %){% endif %}",
        type="informational",
    )
    url = f"/api/automations/{cart['id']}/trigger"
    missing = marketer.post(url, json={"contact_id": contact_id, "data": {"product": "vélo"}})
    assert missing.status_code == 422
    assert "data.discount is missing" in missing.json()["error"]["message"]
    for data, field in (
        ({"product": {"nested": 1}, "discount": ""}, "data.product"),
        ({"product": "x" * 1001, "discount": ""}, "data.product"),
        ({"product": "vélo", "discount": "", "bad name": 1}, "data.bad name"),
    ):
        refused = marketer.post(url, json={"contact_id": contact_id, "data": data})
        assert refused.status_code == 422 and field in refused.json()["error"]["message"]
    ok = {"contact_id": contact_id, "data": {"product": "vélo", "discount": 15}}
    assert marketer.post(url, json=ok).status_code == 202
    blank = {"contact_id": contact_id, "data": {"product": "casque", "discount": ""}}
    assert marketer.post(url, json=blank).status_code == 202
    assert process(engine, clock, settings) == 2
    texts = [m.text for m in messages(engine)]
    assert texts == ["Léa, votre vélo vous attend (-15 %)", "Léa, votre casque vous attend"]

    # At creation, as any merge field: `event` alone, and `event` outside an event
    # automation, are refused with where they are.
    for kind, template, said in (
        ("event", "Bonjour {{ event }}", "'event' alone is not a value"),
        ("group_join", "Bonjour {{ event.x }}", "Unknown variable 'event'"),
    ):
        answer = marketer.post(
            "/api/automations",
            json={"name": "x", "kind": kind, "template": template, "type": "informational",
                  "group_id": 1},
        )
        assert answer.status_code == 422, answer.text
        assert said in answer.json()["error"]["message"]


def test_an_opted_out_contact_gets_nothing(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    kept, gone, unconsented = (
        contact(engine, clock, "+33612345678"),
        contact(engine, clock, "+33698765432"),
        contact(engine, clock, "+33611111111", consent=False),
    )
    with session_scope(engine) as session:
        stopped = session.get(Contact, gone)
        assert stopped is not None
        opt_out(session=session, contact=stopped, via="keyword:STOP", clock=clock)
    heat = automation(marketer)
    url = f"/api/automations/{heat['id']}/trigger"
    ids = []
    for contact_id in (kept, gone, unconsented):
        answer = marketer.post(url, json={"contact_id": contact_id, "data": {"temperature": 28}})
        assert answer.status_code == 202
        ids.append(answer.json()["trigger_id"])
    assert process(engine, clock, settings) == 1
    assert [m.contact_id for m in messages(engine)] == [kept]
    states = [marketer.get(f"/api/automations/{heat['id']}/triggers/{i}").json() for i in ids]
    assert [s["state"] for s in states] == ["enqueued", "skipped", "skipped"]
    assert states[1]["reason"] == "the contact opted out"
    assert states[2]["reason"].startswith("no consent to promotional messages")


def test_a_phone_names_the_contact_and_an_unknown_one_is_created_only_when_asked(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    known = contact(engine, clock, "+33612345678")
    shipped = automation(marketer, "Votre colis {{ event.parcel }} est parti.", "informational")
    url = f"/api/automations/{shipped['id']}/trigger"
    by_phone = {"phone": "06 12 34 56 78", "data": {"parcel": "A1"}}
    assert marketer.post(url, json=by_phone).status_code == 202
    stranger = {"phone": "+33622222222", "data": {"parcel": "B2"}}
    refused = marketer.post(url, json=stranger)
    assert refused.status_code == 404 and '"create": true' in refused.json()["error"]["message"]
    assert marketer.post(url, json={**stranger, "create": True}).status_code == 202
    for wrong in ({"data": {"parcel": "C"}}, {"contact_id": known, "phone": "+33612345678"}):
        assert marketer.post(url, json=wrong).status_code == 422
    assert marketer.post(url, json={"contact_id": 999, "data": {"parcel": "D"}}).status_code == 404
    assert process(engine, clock, settings) == 2
    sent = messages(engine)
    assert [m.phone for m in sent] == ["+33612345678", "+33622222222"]
    assert sent[0].contact_id == known and sent[1].contact_id is not None
    assert sent[1].text == "Votre colis B2 est parti."
    # Not an event automation, or none at all.
    welcome = marketer.post(
        "/api/automations",
        json={"name": "w", "kind": "date_field", "date_field": "birthday", "template": "Hi",
              "type": "informational"},
    ).json()
    wrong_kind = marketer.post(f"/api/automations/{welcome['id']}/trigger", json=by_phone)
    assert wrong_kind.status_code == 422 and "only an event automation" in wrong_kind.text
    assert marketer.post("/api/automations/999/trigger", json=by_phone).status_code == 404


def test_messages_fall_due_at_the_automations_rate(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    contact_id = contact(engine, clock)
    paced = automation(marketer, "Colis {{ event.parcel }}", "informational", per_minute=2)
    assert paced["per_minute"] == 2
    url = f"/api/automations/{paced['id']}/trigger"
    for parcel in ("A", "B", "C"):
        body = {"contact_id": contact_id, "data": {"parcel": parcel}}
        assert marketer.post(url, json=body).status_code == 202
    assert process(engine, clock, settings) == 3
    start = clock.now()
    assert [m.due_at - start for m in messages(engine)] == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(seconds=60),
    ]
    assert [m.state for m in messages(engine)] == ["queued", "planned", "planned"]
    body = {"contact_id": contact_id, "data": {"parcel": "D"}}
    assert marketer.post(url, json=body).status_code == 202
    assert process(engine, clock, settings) == 1
    assert messages(engine)[-1].due_at - start == timedelta(seconds=90)  # after the others
    bad = marketer.post(
        "/api/automations",
        json={"name": "x", "kind": "event", "template": "x", "type": "informational",
              "per_minute": 0},
    )
    assert bad.status_code == 422 and "per_minute" in bad.text


def test_triggers_arriving_together_are_stored_together_each_with_its_outcome(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    contact_id = contact(engine, clock)
    heat = automation(marketer)
    event = {"temperature": 28}
    requests = [
        TriggerRequest(heat["id"], contact_id=contact_id, data=event, idempotency_key="k1"),
        TriggerRequest(heat["id"], contact_id=contact_id, data=event, idempotency_key="k1"),
        TriggerRequest(heat["id"], contact_id=contact_id, data={"temperature": 30},
                       idempotency_key="k1"),
        TriggerRequest(heat["id"], contact_id=999_999, data=event),
        TriggerRequest(heat["id"], contact_id=contact_id, data={}),
        TriggerRequest(heat["id"], contact_id=contact_id, data=event),
    ]
    with session_scope(engine) as session:
        first, again, reused, stranger, lacking, plain = accept_triggers(
            session=session, clock=clock, settings=settings, requests=requests
        )
    assert isinstance(first, Accepted) and isinstance(again, Accepted)
    assert again.trigger.id == first.trigger.id and again.replayed and not first.replayed
    assert isinstance(reused, Conflict) and isinstance(stranger, NotFound)
    assert isinstance(lacking, InvalidInput) and "data.temperature" in lacking.message
    assert isinstance(plain, Accepted) and plain.trigger.id != first.trigger.id
    assert process(engine, clock, settings) == 2


def test_one_key_sent_many_times_at_once_through_the_api_is_one_trigger(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    contact_id = contact(engine, clock)
    heat = automation(marketer)
    url = f"/api/automations/{heat['id']}/trigger"
    body = {"contact_id": contact_id, "data": {"temperature": 28}}

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=marketer.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://pages.ex.co", headers=marketer.headers
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(url, json=body, headers={"Idempotency-Key": key})
                    for key in ["same"] * 20 + [f"other-{n}" for n in range(10)]
                )
            )

    answers = asyncio.run(burst())
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["trigger_id"] for a in answers[:20]}) == 1
    assert len({a.json()["trigger_id"] for a in answers}) == 11
    assert process(engine, clock, settings) == 11
