"""Campaigns through the API, as a marketer runs them, on a real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import read_session, session_scope
from richsms.settings import Settings
from shortener.models import Link
from tests.clock import FrozenClock

CSV = (
    "phone;first_name;language;consent_type;consent_source;city\n"
    "06 12 34 56 78;Marie;fr;express;web form;Lyon\n"
    "+33 6 98 76 54 32;François;fr;express;web form;Paris\n"
    "0611111111;Jean;fr;;;Nice\n"
    "+1 212 555 0100;Alice;en;implied;shop;New York\n"
)


def setup_audience(api: TestClient) -> dict[str, Any]:
    imported = api.post(
        "/api/contacts/import", content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == 4
    a = api.post("/api/groups", json={"name": "Lyon fans"}).json()["id"]
    b = api.post("/api/groups", json={"name": "VIP"}).json()["id"]
    phones = ["+33612345678", "+33698765432", "+33611111111", "+12125550100"]
    assert api.post(f"/api/groups/{a}/members", json={"phones": phones[:3]}).status_code == 200
    # Marie is in both groups: she must get one message.
    assert (
        api.post(f"/api/groups/{b}/members", json={"phones": [phones[0], phones[3]]}).status_code
        == 200
    )
    return {"groups": [a, b], "phones": phones}


def campaign(api: TestClient, **overrides: Any) -> dict[str, Any]:
    audience = setup_audience(api)
    body = {
        "name": "Soldes",
        "type": "promotional",
        "template": 'Bonjour {{ contact.first_name | default("ami") }}, -20% à '
        "{{ contact.city }} : {{ link }}",
        "target_url": "https://shop.example/soldes",
        "group_ids": audience["groups"],
        **overrides,
    }
    response = api.post("/api/campaigns", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def plan(app: Any, clock: FrozenClock) -> list[int]:
    """What a worker's chore loop does: claim and run the planning jobs that are due."""
    from sender.campaigns.planning_job import run_planning

    state = app.context
    return run_planning(
        engine=state.engine,
        clock=clock,
        settings=state.settings,
        codes=state.codes,
        worker_id="test-worker",
        batch_size=2,
    )


def all_messages(api: TestClient, campaign_id: int) -> list[dict[str, Any]]:
    page = api.get(f"/api/campaigns/{campaign_id}/messages?limit=2")
    assert page.status_code == 200
    messages: list[dict[str, Any]] = page.json()["messages"]
    while page.json()["next_after"] is not None:
        page = api.get(
            f"/api/campaigns/{campaign_id}/messages?limit=2&after={page.json()['next_after']}"
        )
        messages += page.json()["messages"]
    return messages


def test_send_answers_at_once_and_a_worker_plans_with_progress(
    api: TestClient, app: Any, clock: FrozenClock
) -> None:
    created = campaign(api)
    sent = api.post(f"/api/campaigns/{created['id']}/send")
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "planning"
    assert sent.json()["progress"] == {"planned": 0, "excluded": 0, "errors": 0, "total": None}
    assert all_messages(api, created["id"]) == []  # nothing planned inside the request
    assert plan(app, clock) == [created["id"]]
    shown = api.get(f"/api/campaigns/{created['id']}").json()
    assert shown["status"] == "sending"
    # Jean gave no consent: promotional leaves him out.
    assert shown["progress"] == {"planned": 3, "excluded": 1, "errors": 0, "total": 4}
    messages = all_messages(api, created["id"])
    assert sorted(m["phone"] for m in messages) == ["+12125550100", "+33612345678", "+33698765432"]
    marie = next(m for m in messages if m["phone"] == "+33612345678")
    assert marie["text"].startswith("Bonjour Marie, -20% à Lyon : https://ex.co/")
    assert marie["text"].endswith("\nSTOP au 36180")
    alice = next(m for m in messages if m["phone"] == "+12125550100")
    assert alice["text"].endswith("\nReply STOP to opt out")
    assert marie["state"] == "queued" and marie["times"]["queued_at"]
    francois = next(m for m in messages if m["phone"] == "+33698765432")
    assert francois["encoding"] == "UCS-2"  # the ç of François
    code = marie["text"].split("https://ex.co/")[1].split()[0]
    assert api.get(f"/{code}", follow_redirects=False).headers["location"] == (
        "https://shop.example/soldes"
    )
    production = api.get(f"/api/campaigns/{created['id']}/stats").json()["production"]
    assert (production["produced"], production["errors"], production["remaining"]) == (3, 0, 3)


def test_a_campaign_cannot_be_sent_twice(api: TestClient, app: Any, clock: FrozenClock) -> None:
    created = campaign(api, type="informational")
    assert api.post(f"/api/campaigns/{created['id']}/send").status_code == 202
    planning = api.post(f"/api/campaigns/{created['id']}/send")
    assert planning.status_code == 409
    assert "is planning; it cannot be sent again" in planning.json()["error"]["message"]
    plan(app, clock)
    assert api.post(f"/api/campaigns/{created['id']}/send").status_code == 409
    assert len(all_messages(api, created["id"])) == 4


def test_listing_by_an_unknown_status_names_the_valid_ones(api: TestClient) -> None:
    response = api.get("/api/campaigns?status=bogus")
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    for status in ("draft", "awaiting_approval", "scheduled", "planning", "sending", "done"):
        assert status in message
    assert api.get("/api/campaigns?status=done").json() == {"campaigns": []}


def test_cancel_stops_the_messages_not_yet_handed_over(
    api: TestClient, app: Any, clock: FrozenClock, engine: Any
) -> None:
    from sqlalchemy import update

    from sender.delivery.models import Message

    created = campaign(api, type="informational")
    api.post(f"/api/campaigns/{created['id']}/send")
    plan(app, clock)
    first = all_messages(api, created["id"])[0]["id"]
    with session_scope(engine) as session:  # a worker handed this one over already
        session.execute(update(Message).where(Message.id == first).values(state="sent"))
    cancelled = api.post(f"/api/campaigns/{created['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled_messages"] == 3
    assert cancelled.json()["campaign"]["status"] == "cancelled"
    states = sorted(m["state"] for m in all_messages(api, created["id"]))
    assert states == ["cancelled", "cancelled", "cancelled", "sent"]
    again = api.post(f"/api/campaigns/{created['id']}/cancel")
    assert again.status_code == 409
    assert "cancelled" in again.json()["error"]["message"]
    assert api.post("/api/campaigns/999/cancel").status_code == 404
    paths = api.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/campaigns/{id}/cancel"]


def test_cancel_during_planning_stops_the_job(
    api: TestClient, app: Any, clock: FrozenClock
) -> None:
    created = campaign(api, type="informational")
    api.post(f"/api/campaigns/{created['id']}/send")
    assert api.post(f"/api/campaigns/{created['id']}/cancel").status_code == 200
    assert plan(app, clock) == []
    assert all_messages(api, created["id"]) == []
    assert api.get(f"/api/campaigns/{created['id']}").json()["status"] == "cancelled"


def test_a_campaign_is_done_once_every_message_is_final(
    api: TestClient, app: Any, clock: FrozenClock, engine: Any
) -> None:
    from sqlalchemy import update

    from sender.campaigns.campaign import finish_sent_campaigns
    from sender.delivery.models import Message

    created = campaign(api, type="informational")
    api.post(f"/api/campaigns/{created['id']}/send")
    plan(app, clock)
    ids = [m["id"] for m in all_messages(api, created["id"])]
    with session_scope(engine) as session:
        session.execute(update(Message).where(Message.id.in_(ids[:3])).values(state="sent"))
        assert finish_sent_campaigns(session=session, clock=clock) == []
    assert api.get(f"/api/campaigns/{created['id']}").json()["status"] == "sending"
    with session_scope(engine) as session:
        session.execute(update(Message).where(Message.id == ids[3]).values(state="failed"))
        assert finish_sent_campaigns(session=session, clock=clock) == [created["id"]]
    shown = api.get(f"/api/campaigns/{created['id']}").json()
    assert shown["status"] == "done"
    assert shown["done_at"] == clock.now().isoformat().replace("+00:00", "Z")


def test_approval_needs_a_second_marketer(api: TestClient, engine: Any, clock: FrozenClock) -> None:
    created = campaign(api, requires_approval=True)
    assert created["status"] == "awaiting_approval"
    assert api.post(f"/api/campaigns/{created['id']}/send").status_code == 409
    listed = api.get("/api/campaigns?status=awaiting_approval").json()["campaigns"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert api.post(f"/api/campaigns/{created['id']}/approve").status_code == 403
    with session_scope(engine) as session:
        second = create_token(session=session, name="second marketer", clock=clock)
    approved = api.post(
        f"/api/campaigns/{created['id']}/approve", headers={"Authorization": f"Bearer {second}"}
    )
    assert approved.status_code == 200
    assert api.post(f"/api/campaigns/{created['id']}/send").status_code == 202


def test_a_future_campaign_is_planned_just_before_it_sends(
    api: TestClient, clock: FrozenClock, app: Any
) -> None:
    send_at = clock.now() + timedelta(days=1)
    created = campaign(api, type="informational", schedule="at", send_at=send_at.isoformat())
    scheduled = api.post(f"/api/campaigns/{created['id']}/send")
    assert scheduled.status_code == 202
    assert scheduled.json()["status"] == "scheduled"
    plan_at = send_at - timedelta(minutes=5)
    assert scheduled.json()["plan_at"] == plan_at.isoformat().replace("+00:00", "Z")
    assert plan(app, clock) == []
    # A contact joins before the send: the audience is evaluated then, not at /send.
    api.post(
        "/api/contacts/import",
        content=b"phone;first_name\n0622222222;Zoe\n",
        headers={"Content-Type": "text/csv"},
    )
    group = created["group_ids"][0]
    api.post(f"/api/groups/{group}/members", json={"phones": ["+33622222222"]})
    clock.advance(timedelta(hours=23, minutes=56))
    assert plan(app, clock) == [created["id"]]
    messages = all_messages(api, created["id"])
    assert len(messages) == 5
    assert {m["state"] for m in messages} == {"planned"}
    assert {m["due_at"] for m in messages} == {send_at.isoformat().replace("+00:00", "Z")}


def test_local_schedule_is_due_at_each_recipients_own_hour(
    api: TestClient, app: Any, clock: FrozenClock
) -> None:
    created = campaign(
        api,
        type="informational",
        schedule="local",
        local_date="2026-12-01",
        local_time="10:00",
        refresh_audience=False,
    )
    assert api.post(f"/api/campaigns/{created['id']}/send").status_code == 202
    plan(app, clock)
    due = {m["phone"]: m["due_at"] for m in all_messages(api, created["id"])}
    assert due["+33612345678"] == "2026-12-01T09:00:00Z"  # Paris, UTC+1 in winter
    assert due["+12125550100"] == "2026-12-01T15:00:00Z"  # New York, UTC-5


def test_test_send_is_marked_and_kept_out_of_the_statistics(api: TestClient) -> None:
    created = campaign(api)
    test = api.post(f"/api/campaigns/{created['id']}/test", json={"phone": "06 12 34 56 78"})
    assert test.status_code == 202, test.text
    assert test.json()["is_test"] is True
    # The number typed is Marie's, yet the test is a sample made up for tests: a real
    # customer's name never goes to whatever number is typed.
    assert test.json()["text"].startswith("Bonjour Camille, -20% à [city] : ")
    assert test.json()["contact_id"] is None
    stats = api.get(f"/api/campaigns/{created['id']}/stats").json()
    assert stats["production"]["produced"] == 0


def test_a_test_send_is_personalized_for_the_contact_the_marketer_picks(
    api: TestClient,
) -> None:
    created = campaign(api)
    [alice] = api.get("/api/contacts?q=Alice").json()["contacts"]
    test = api.post(
        f"/api/campaigns/{created['id']}/test",
        json={"phone": "+33 7 81 00 00 01", "contact_id": alice["id"]},
    )
    assert test.status_code == 202, test.text
    assert test.json()["text"].startswith("Bonjour Alice, -20% à New York : ")
    assert test.json()["phone"] == "+33781000001"
    missing = api.post(
        f"/api/campaigns/{created['id']}/test", json={"phone": "+33781000001", "contact_id": 999}
    )
    assert missing.status_code == 404


def test_a_page_campaigns_test_link_shows_the_page_and_counts_nowhere(
    api: TestClient, client: TestClient, app: Any, settings: Settings
) -> None:
    audience = setup_audience(api)
    page = api.post(
        "/api/pages",
        json={"name": "Noël", "language": "fr", "blocks": [{"type": "heading", "text": "Joyeux"}]},
    ).json()
    assert api.post(f"/api/pages/{page['id']}/publish").status_code == 200
    created = api.post(
        "/api/campaigns",
        json={
            "name": "Noël",
            "type": "promotional",
            "template": "Bonjour {{ contact.first_name }} : {{ link }}",
            "page_id": page["id"],
            "group_ids": audience["groups"],
        },
    ).json()
    test = api.post(f"/api/campaigns/{created['id']}/test", json={"phone": "0612345678"})
    assert test.status_code == 202, test.text
    text = test.json()["text"]
    code = text.split(settings.short_url, 1)[1].split()[0]
    person = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"}
    shown = client.get(f"/{code}", headers=person)
    assert shown.status_code == 200 and "Joyeux" in shown.text
    # Marked as a test, clicked, and counted in no figure: not the page's, not the
    # campaign's, not the link's campaign.
    with read_session(app.context.engine) as session:
        link = session.exec(select(Link).where(Link.code == code)).one()
        assert (link.is_test, link.contact_id, link.campaign_id) == (True, None, None)
    assert api.get(f"/api/links/{code}/stats").json()["clicks"] == 1  # stored, as any
    page_stats = api.get(f"/api/pages/{page['id']}/stats").json()
    assert (page_stats["clicks"], page_stats["human_clicks"]) == (0, 0)
    stats = api.get(f"/api/campaigns/{created['id']}/stats").json()
    assert stats["engagement"]["clicks"] == 0
    assert stats["production"]["produced"] == 0


def test_unknown_template_field_is_refused_at_save_time(api: TestClient) -> None:
    setup_audience(api)
    response = api.post(
        "/api/campaigns",
        json={
            "name": "x",
            "type": "informational",
            "template": "Hi {{ contact.nickname }}",
            "group_ids": [1],
        },
    )
    assert response.status_code == 422
    assert "nickname" in response.json()["error"]["message"]


def test_unitary_send_goes_through_the_outbox_and_the_consent_rules(api: TestClient) -> None:
    setup_audience(api)
    ok = api.post(
        "/api/messages",
        json={"phone": "+33611111111", "text": "Votre code : 4821", "type": "administrative"},
    )
    assert ok.status_code == 202, ok.text
    assert ok.json()["state"] == "queued"
    assert api.get(f"/api/messages/{ok.json()['id']}").json()["text"] == "Votre code : 4821"
    refused = api.post(
        "/api/messages", json={"phone": "+33611111111", "text": "Promo !", "type": "promotional"}
    )
    assert refused.status_code == 409
    assert "consent" in refused.json()["error"]["message"]
    templated = api.post(
        "/api/messages",
        json={
            "contact_id": 1,
            "template": "Hi {{ contact.first_name }} {{ link }}",
            "url": "https://shop.example/cart",
            "type": "informational",
        },
    )
    assert templated.status_code == 202
    assert templated.json()["text"].startswith("Hi Marie https://ex.co/")


def test_sender_numbers_carry_only_their_types(api: TestClient) -> None:
    short = api.post(
        "/api/senders",
        json={"kind": "short_code", "value": "36180", "rate": 50, "allowed_types": ["promotional"]},
    )
    assert short.status_code == 201
    bad = api.post(
        "/api/senders",
        json={
            "kind": "alphanumeric",
            "value": "MuchTooLongName",
            "rate": 5,
            "allowed_types": ["informational"],
        },
    )
    assert bad.status_code == 422
    setup_audience(api)
    response = api.post(
        "/api/campaigns",
        json={
            "name": "x",
            "type": "informational",
            "template": "Hello",
            "group_ids": [1],
            "sender_id": short.json()["id"],
        },
    )
    assert response.status_code == 422
    assert "may not carry informational" in response.json()["error"]["message"]


def test_analysis_over_groups_counts_only_who_would_receive_it(api: TestClient) -> None:
    audience = setup_audience(api)
    body = api.post(
        "/api/sms/analyze",
        json={
            "text": "Bonjour {{ contact.first_name }}, -20% à {{ contact.city }}",
            "audience": {"groups": audience["groups"]},
        },
    )
    assert body.status_code == 200, body.text
    analysis = body.json()["audience"]
    assert analysis["recipients"] == 3  # Jean has no consent to promotional messages
    groups = {(g["encoding"], g["segments"]): g["recipients"] for g in analysis["distribution"]}
    assert groups == {("GSM-7", 1): 2, ("UCS-2", 1): 1}  # François has a ç
    assert analysis["format"] == "variable"


def test_cli_plans_a_campaign_with_progress(api: TestClient, settings: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    created = campaign(api)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("richsms")), "campaigns", "send", str(created["id"])],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "RICHSMS_DATABASE_URL": settings.database_url,
            "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
            "RICHSMS_SHORT_URL": settings.short_url,
        },
    )
    assert result.returncode == 0, result.stderr
    assert "planned 3, errors 0, left out (opted out or no consent) 1" in result.stderr
    assert len(all_messages(api, created["id"])) == 3
    again = subprocess.run(
        [str(Path(sys.executable).with_name("richsms")), "campaigns", "send", str(created["id"])],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RICHSMS_DATABASE_URL": settings.database_url},
    )
    assert again.returncode == 1 and "cannot be sent again" in again.stderr


def test_cli_schedules_a_future_campaign_as_the_api_does(api: TestClient, settings: Any) -> None:
    import os
    import subprocess
    import sys
    from datetime import UTC, datetime
    from pathlib import Path

    send_at = datetime.now(UTC) + timedelta(days=2)
    created = campaign(api, type="informational", schedule="at", send_at=send_at.isoformat())
    result = subprocess.run(
        [str(Path(sys.executable).with_name("richsms")), "campaigns", "send", str(created["id"])],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "RICHSMS_DATABASE_URL": settings.database_url,
            "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
            "RICHSMS_SHORT_URL": settings.short_url,
        },
    )
    assert result.returncode == 0, result.stderr
    assert "scheduled" in result.stderr
    shown = api.get(f"/api/campaigns/{created['id']}").json()
    assert shown["status"] == "scheduled"
    assert all_messages(api, created["id"]) == []


def test_the_api_body_the_domains_spec_and_the_table_share_one_declared_shape() -> None:
    from sender.campaigns.campaign import CampaignSpec
    from sender.campaigns.models import Campaign, CampaignShape
    from web.api.campaign_bodies import CampaignIn

    spec, body = CampaignSpec.model_fields, CampaignIn.model_fields
    assert list(body) == list(spec)
    for name, field in spec.items():
        assert body[name].get_default(call_default_factory=True) == field.get_default(
            call_default_factory=True
        ), name
    columns = Campaign.__table__.columns  # type: ignore[attr-defined]
    for name, field in CampaignShape.model_fields.items():
        stored = Campaign.model_fields[name].get_default(call_default_factory=True)
        assert name in columns and stored == field.get_default(call_default_factory=True)


def test_the_send_summary_says_who_what_when_before_anything_leaves(
    app: Any, api: TestClient, clock: FrozenClock
) -> None:
    created = campaign(api)  # Marie, François, Jean (no consent), Alice (New York)
    stop = api.post("/api/inbound", json={"from": "+33698765432", "to": "36111", "text": "STOP"})
    assert stop.status_code in (200, 202), stop.text
    summary = api.get(f"/api/campaigns/{created['id']}/summary")
    assert summary.status_code == 200, summary.text
    s = summary.json()
    assert (s["audience"], s["recipients"], s["excluded_total"]) == (4, 2, 2)
    assert s["excluded"] == {"opted_out": 1, "no_consent": 1}
    assert [(g["encoding"], g["recipients"]) for g in s["by_encoding"]] == [("GSM-7", 2)]
    assert s["total_segments"] == sum(g["segments"] for g in s["by_encoding"]) == 2
    assert s["window"] == "08:00-21:00" and s["errors"] == 0
    # 12:00 UTC: 13:00 in Paris, sent at once; 07:00 in New York, held until 08:00 there.
    d = s["departures"]
    assert (d["first"]["at"], d["first"]["zone"], d["first"]["local"]) == (
        "2026-11-24T12:00:00Z",
        "Europe/Paris",
        "2026-11-24T13:00",
    )
    assert (d["last"]["zone"], d["last"]["local"]) == ("America/New_York", "2026-11-24T08:00")
    assert d["held"]["recipients"] == 1 and d["held"]["first"]["at"] == "2026-11-24T13:00:00Z"
    assert set(s["opt_out"]) == {"fr", "en"} and "STOP" in s["opt_out"]["en"]
    assert s["waiting"] is None
    # Nothing left: the summary is a read.
    assert api.get(f"/api/campaigns/{created['id']}").json()["status"] == "draft"
    # Sent: the campaign says how many of its messages wait for the quiet hours, and until.
    assert api.post(f"/api/campaigns/{created['id']}/send").status_code == 202
    plan(app, clock)
    after = api.get(f"/api/campaigns/{created['id']}/summary").json()
    assert after["waiting"]["recipients"] == 1
    assert after["waiting"]["first"]["local"] == "2026-11-24T08:00"
    # The planner excluded the same two, for the same reasons.
    progress = api.get(f"/api/campaigns/{created['id']}").json()["progress"]
    assert (progress["planned"], progress["excluded"]) == (2, 2)
    assert api.get("/api/campaigns/999/summary").status_code == 404


def test_an_informational_summary_excludes_only_the_opted_out(api: TestClient) -> None:
    created = campaign(api, type="informational")
    s = api.get(f"/api/campaigns/{created['id']}/summary").json()
    assert s["excluded"] == {"opted_out": 0} and s["recipients"] == 4
    assert s["opt_out"] == {}


def test_a_draft_is_edited_field_by_field_and_a_sent_campaign_is_refused(
    app: Any, api: TestClient, clock: FrozenClock
) -> None:
    created = campaign(api)
    url = f"/api/campaigns/{created['id']}"
    edited = api.patch(url, json={"name": "Soldes d'hiver", "rate": 5})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["rate"]) == ("Soldes d'hiver", 5)
    assert edited.json()["template"] == created["template"]  # untouched
    assert edited.json()["status"] == "draft"
    # Checked as at creation: an unknown field, no audience, a bad value.
    unknown = api.patch(url, json={"template": "Hi {{ contact.nickname }}"})
    assert unknown.status_code == 422 and "nickname" in unknown.text
    assert api.patch(url, json={"group_ids": []}).status_code == 422
    assert api.patch(url, json={"name": None}).status_code == 422
    assert api.patch(url, json={"rate": 0}).status_code == 422
    assert api.patch(url, json={"colour": "red"}).status_code == 422
    assert api.patch("/api/campaigns/999", json={"name": "x"}).status_code == 404
    assert api.get(url).json()["name"] == "Soldes d'hiver"
    assert api.post(url + "/send").status_code == 202
    refused = api.patch(url, json={"name": "Trop tard"})
    assert refused.status_code == 409
    assert "only a draft can be edited" in refused.json()["error"]["message"]
    # Duplicated at any time: a new draft with the same fields.
    copy = api.post(url + "/duplicate", json={})
    assert copy.status_code == 201, copy.text
    c = copy.json()
    assert (c["name"], c["status"]) == ("Soldes d'hiver (copy)", "draft")
    assert c["id"] != created["id"] and c["template"] == created["template"]
    assert (c["group_ids"], c["rate"], c["progress"]["planned"]) == (created["group_ids"], 5, 0)
    named = api.post(url + "/duplicate", json={"name": "Soldes de printemps"}).json()
    assert named["name"] == "Soldes de printemps"
    assert api.patch(f"/api/campaigns/{c['id']}", json={"name": "Copie"}).status_code == 200
    assert api.post("/api/campaigns/999/duplicate", json={}).status_code == 404
