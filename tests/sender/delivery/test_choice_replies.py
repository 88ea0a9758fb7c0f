"""Reply choices: a campaign asks OUI or NON (or 1 or 2), recipients answer by SMS, each
answer is counted, answered, and may start a follow-up; keywords keep their meaning."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select
from starlette.testclient import TestClient

from richsms.db import read_session
from sender.delivery.choice_replies import match_choice
from sender.delivery.inbound import OPT_OUT_REPLY
from sender.delivery.models import ChoiceReply, Message
from sender.delivery.providers.console import ConsoleProvider
from sender.delivery.worker import Worker, WorkerConfig
from tests.clock import FrozenClock
from tests.sender.webhooks.test_webhooks import collect, deliveries, register
from tests.web.test_campaigns_api import plan
from tests.web.test_ui import marketer  # noqa: F401  (the signed-in fixture)

MARIE, FRANCOIS, ALICE = "+33612345678", "+33698765432", "+12125550100"
CSV = (
    "phone;first_name;language;consent_type;consent_source\n"
    f"{MARIE};Marie;fr;express;web form\n"
    f"{FRANCOIS};François;fr;express;web form\n"
    f"{ALICE};Alice;en;express;shop\n"
)
OUI_NON = {
    "OUI": {"reply": "Merci, c'est noté."},
    "non": {
        "reply": "Dommage.",
        "follow_up": {"template": "{{ contact.first_name }}, un autre jour ?", "after_minutes": 0},
    },
}


@pytest.fixture
def worker(engine: Engine, clock: FrozenClock, tmp_path: Path) -> Iterator[Worker]:
    console = ConsoleProvider(tmp_path / "console.log", receipts=False, clock=clock)
    worker = Worker(engine, console, clock, WorkerConfig(worker_id="w", default_rate=1000))
    yield worker
    worker.close()


def sent_campaign(
    api: TestClient, app: Any, clock: FrozenClock, worker: Worker, **fields: Any
) -> int:
    """An informational campaign with reply choices, sent to Marie, François and Alice
    at 15:00 UTC (daytime in Paris and New York)."""
    clock.advance(timedelta(hours=3))
    imported = api.post(
        "/api/contacts/import", content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    group = api.post("/api/groups", json={"name": "RDV"}).json()["id"]
    api.post(f"/api/groups/{group}/members", json={"phones": [MARIE, FRANCOIS, ALICE]})
    body = {
        "name": "Confirmation",
        "type": "informational",
        "template": "Votre rendez-vous demain 10h : répondez OUI ou NON.",
        "group_ids": [group],
        "choices": OUI_NON,
        "unmatched": "Répondez OUI ou NON.",
        **fields,
    }
    created = api.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    assert api.post(f"/api/campaigns/{campaign_id}/send").status_code == 202
    plan(app, clock)
    assert worker.run_once() == 3
    clock.advance(timedelta(hours=1))
    return campaign_id


def reply(api: TestClient, phone: str, text: str, to: str = "36180") -> dict[str, Any]:
    response = api.post("/api/inbound", json={"from": phone, "to": to, "text": text})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def outbox(engine: Engine, phone: str) -> list[Message]:
    with read_session(engine) as session:
        found = session.exec(
            select(Message).where(col(Message.phone) == phone).order_by(col(Message.id))
        ).all()
        session.expunge_all()
        return list(found)


@pytest.mark.parametrize(
    ("text", "keys", "choice"),
    [
        ("oui!", {"OUI", "NON"}, "OUI"),
        ("  Oui. ", {"OUI", "NON"}, "OUI"),
        ("Oui merci", {"OUI", "NON"}, "OUI"),
        ("c'est oui", {"OUI", "NON"}, "OUI"),
        ("NÔN", {"OUI", "NON"}, "NON"),
        ("1.", {"1", "2"}, "1"),
        ("2)", {"1", "2"}, "2"),
        ("choix 2", {"1", "2"}, "2"),
        ("C'est bon pour moi", {"C", "A"}, None),
        ("A", {"C", "A"}, "A"),
        ("peut-être", {"OUI", "NON"}, None),
        ("oui ou non je ne sais pas", {"OUI", "NON"}, "OUI"),
        ("je ne sais pas trop, peut-être oui", {"OUI", "NON"}, None),
        ("", {"OUI"}, None),
    ],
)
def test_a_reply_is_matched_forgivingly(text: str, keys: set[str], choice: str | None) -> None:
    assert match_choice(text, keys) == choice


def test_oui_is_counted_and_answered_from_the_number_written_to(
    api: TestClient, app: Any, engine: Engine, clock: FrozenClock, worker: Worker
) -> None:
    campaign_id = sent_campaign(api, app, clock, worker)
    assert api.get(f"/api/campaigns/{campaign_id}").json()["choices"] == {
        "OUI": {"reply": "Merci, c'est noté."},
        "NON": OUI_NON["non"],
    }
    answer = reply(api, MARIE, "oui!", to="+33700000001")
    assert (answer["action"], answer["choice"], answer["reply"]) == (
        "reply", "OUI", "Merci, c'est noté."
    )  # fmt: skip
    assert answer["campaign_id"] == campaign_id
    answered = outbox(engine, MARIE)[-1]
    assert (answered.text, answered.sender, answered.state) == (
        "Merci, c'est noté.", "+33700000001", "queued"
    )  # fmt: skip
    with read_session(engine) as session:
        recorded = session.exec(select(ChoiceReply)).one()
        assert (recorded.campaign_id, recorded.choice) == (campaign_id, "OUI")
    # A webhook's reply event says the choice.
    register(engine, clock, "http://127.0.0.1:9/hook", "reply")
    reply(api, FRANCOIS, "Non.")
    clock.advance(timedelta(seconds=11))
    assert collect(engine, clock) == 1
    [event] = [json.loads(d.payload) for d in deliveries(engine)]
    assert (event["text"], event["choice"]) == ("Non.", "NON")


def test_a_choice_starts_its_follow_up_after_its_delay(
    api: TestClient, app: Any, engine: Engine, clock: FrozenClock, worker: Worker
) -> None:
    choices = {
        "1": {"reply": "Confirmé."},
        "2": {"follow_up": {"template": "{{ contact.first_name }}, quel jour ?",
                            "after_minutes": 30}},
    }  # fmt: skip
    campaign_id = sent_campaign(
        api, app, clock, worker, choices=choices, unmatched="Répondez 1 ou 2."
    )
    answer = reply(api, FRANCOIS, "2")
    assert (answer["choice"], answer["reply"]) == ("2", None)
    follow_up = outbox(engine, FRANCOIS)[-1]
    assert follow_up.text == "François, quel jour ?"
    assert follow_up.due_at == clock.now() + timedelta(minutes=30)
    assert follow_up.campaign_id is None and follow_up.type == "informational"
    assert worker.run_once() == 0  # not before its time
    clock.advance(timedelta(minutes=30))
    assert worker.run_once() == 1
    assert outbox(engine, FRANCOIS)[-1].state == "sent"
    # The campaign is done once its own messages are, whatever follow-ups are pending.
    assert api.get(f"/api/campaigns/{campaign_id}").json()["status"] in ("sending", "done")


def test_stop_still_opts_out_whatever_the_choices(
    api: TestClient, app: Any, engine: Engine, clock: FrozenClock, worker: Worker
) -> None:
    sent_campaign(api, app, clock, worker, choices={"1": {}, "2": {}, "YES": {"reply": "OK"}})
    for keyword, action in (("HELP", "help"), ("aide", "help"), ("START", "opt_in")):
        kept = reply(api, FRANCOIS, keyword)
        assert (kept["action"], kept["choice"]) == (action, None), keyword
    stop = reply(api, MARIE, "STOP")
    assert (stop["action"], stop["choice"], stop["reply"]) == ("opt_out", None, OPT_OUT_REPLY["fr"])
    assert api.get("/api/contacts/1").json()["status"] == "opted_out"
    # YES offered as a choice is that choice for a subscriber.
    yes = reply(api, ALICE, "Yes!")
    assert (yes["action"], yes["choice"], yes["reply"]) == ("reply", "YES", "OK")
    with read_session(engine) as session:
        assert [r.choice for r in session.exec(select(ChoiceReply))] == ["YES"]


def test_an_unmatched_reply_is_answered_once_then_left_for_a_person(
    api: TestClient,
    app: Any,
    engine: Engine,
    clock: FrozenClock,
    worker: Worker,
    marketer: TestClient,  # noqa: F811
) -> None:
    sent_campaign(api, app, clock, worker)
    first = reply(api, MARIE, "peut-être")
    assert (first["choice"], first["reply"]) == (None, "Répondez OUI ou NON.")
    second = reply(api, MARIE, "je ne sais pas encore")
    assert (second["choice"], second["reply"]) == (None, None)
    assert [m.text for m in outbox(engine, MARIE)][1:] == ["Répondez OUI ou NON."]
    # Still waiting for a person, both of them.
    waiting = api.get("/api/inbound/waiting")
    assert waiting.status_code == 200, waiting.text
    texts = [m["text"] for m in waiting.json()["messages"]]
    assert texts == ["je ne sais pas encore", "peut-être"]
    # Listed in the UI's inbox, the first one answered with the unmatched text.
    inbox = html.unescape(marketer.get("/ui/inbound/review").text)
    assert "Replies waiting for a person" in inbox
    waiting_rows = inbox.split("No message to review")[0].split("<tr>")[2:]
    assert "je ne sais pas encore" in waiting_rows[0] and "Not yet" in waiting_rows[0]
    assert "peut-être" in waiting_rows[1] and "Unmatched text sent" in waiting_rows[1]
    # A matched answer afterwards is answered as usual.
    assert reply(api, MARIE, "non")["reply"] == "Dommage."


def test_choices_are_checked_when_saved(api: TestClient) -> None:
    group = api.post("/api/groups", json={"name": "G"}).json()["id"]
    base = {"name": "C", "type": "informational", "template": "Venez ?", "group_ids": [group]}

    def refused(**fields: Any) -> str:
        response = api.post("/api/campaigns", json={**base, **fields})
        assert response.status_code == 422, response.text
        message: str = response.json()["error"]["message"]
        return message

    assert "keyword" in refused(choices={"STOP": {}})
    assert "keyword" in refused(choices={"aide": {"reply": "x"}})
    assert "informational" in refused(type="promotional", choices={"1": {}})
    assert "same choice" in refused(choices={"oui": {}, "OUI": {}})
    assert "digits or a word" in refused(choices={"oui non": {}})
    assert "link" in refused(choices={"1": {"follow_up": {"template": "{{ link }}"}}})
    assert "Unknown field" in refused(choices={"1": {"follow_up": {"template": "{{ contact.x }}"}}})
    assert "after_minutes" in refused(
        choices={"1": {"follow_up": {"template": "x", "after_minutes": -1}}}
    )
    assert "unmatched" in refused(unmatched="Répondez OUI")
    created = api.post("/api/campaigns", json={**base, "choices": {"Ç": {}}})
    assert created.status_code == 201 and created.json()["choices"] == {"C": {}}


def test_an_automation_offers_choices_too(api: TestClient) -> None:
    group = api.post("/api/groups", json={"name": "Nouveaux"}).json()["id"]
    body = {
        "name": "Bienvenue", "kind": "group_join", "group_id": group, "type": "informational",
        "template": "Bienvenue ! Des nouvelles par SMS ? OUI ou NON",
        "choices": {"oui": {"reply": "Parfait."}}, "unmatched": "Répondez OUI ou NON.",
    }  # fmt: skip
    created = api.post("/api/automations", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["choices"] == {"OUI": {"reply": "Parfait."}}
    wrong = api.post("/api/automations", json={**body, "choices": {"stop": {}}})
    assert wrong.status_code == 422 and "keyword" in wrong.json()["error"]["message"]


def test_an_automations_choices_are_answered_and_its_follow_up_offers_none(
    api: TestClient, engine: Engine, clock: FrozenClock, worker: Worker
) -> None:
    api.post("/api/contacts/import", content=CSV.encode(), headers={"Content-Type": "text/csv"})
    group = api.post("/api/groups", json={"name": "Nouveaux"}).json()["id"]
    body = {
        "name": "Bienvenue", "kind": "group_join", "group_id": group, "type": "informational",
        "template": "Bienvenue ! Des nouvelles par SMS ? OUI ou NON", "local_time": "13:00",
        "choices": {"oui": {"reply": "Parfait."},
                    "non": {"follow_up": {"template": "Pourquoi ?", "after_minutes": 0}}},
        "unmatched": "Répondez OUI ou NON.",
    }  # fmt: skip
    assert api.post("/api/automations", json=body).status_code == 201
    api.post(f"/api/groups/{group}/members", json={"phones": [MARIE, FRANCOIS]})
    assert api.post("/api/automations/run").json() == {"enqueued": 2}
    assert worker.run_once() == 2
    clock.advance(timedelta(minutes=5))
    assert reply(api, MARIE, "Oui !")["reply"] == "Parfait."
    assert reply(api, FRANCOIS, "non")["choice"] == "NON"
    assert worker.run_once() == 2  # Marie's answer, François' follow-up
    assert outbox(engine, FRANCOIS)[-1].text == "Pourquoi ?"
    clock.advance(timedelta(minutes=5))
    # An answer to the follow-up is a plain reply: no choice, no unmatched text.
    answer = reply(api, FRANCOIS, "pas le temps")
    assert (answer["action"], answer["choice"], answer["reply"]) == ("reply", None, None)
