"""One campaign's screen through a browser's eyes (HTTP): the test send, the send summary
and its confirmation, cancelling with confirmation, editing drafts and duplicating."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from richsms.db import read_session, session_scope
from sender.audience.models import Contact
from sender.campaigns.campaign import CampaignSpec, create_campaign
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from shortener.models import Link
from tests.clock import FrozenClock
from tests.web.test_ui import audience, csrf, marketer  # noqa: F401  (a fixture)
from tests.web.test_ui_ab_test import shown_form


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


def status(engine: Engine) -> str:
    with Session(engine) as session:
        return str(session.execute(select(Campaign.status)).scalar())


def test_send_opens_the_summary_and_only_the_confirmation_sends(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)  # Zoé (fr) and Bob (en), both in France, consented
    # 12:00 UTC is 13:00 in Paris: outside this campaign's hours, 14:00 to 21:00.
    path = new_campaign(marketer, group, window_start="14:00")
    screen = marketer.get(path).text
    # "Send" is a link to the summary, not a form that sends.
    assert f'id="send-campaign" href="{path}/send"' in screen
    assert f'action="{path}/send"' not in screen
    summary = marketer.get(path + "/send")
    assert summary.status_code == 200
    html = summary.text
    assert 'id="summary-recipients">2<' in html and 'id="summary-excluded">0<' in html
    assert 'data-reason="opted_out"' in html and 'data-reason="no_consent"' in html
    assert "GSM-7" in html and "STOP" in html
    assert 'id="summary-hold"' in html and "2 recipients are outside the quiet hours" in html
    assert "(Europe/Paris)" in html
    assert 'id="confirm-send"' in html and status(engine) == "draft"
    token = csrf(html)
    # A POST without the confirmation shows the summary again; nothing is sent.
    unconfirmed = marketer.post(path + "/send", data={"csrf": token}, follow_redirects=False)
    assert unconfirmed.status_code == 303 and unconfirmed.headers["location"] == path + "/send"
    assert status(engine) == "draft"
    sent = marketer.post(path + "/send", data={"csrf": token, "confirmed": "yes"})
    assert sent.status_code == 200 and "Sending requested." in sent.text
    assert status(engine) == "planning"
    from tests.web.test_campaigns_api import plan

    plan(marketer.app, clock)
    screen = marketer.get(path).text
    # The campaign says the two messages wait for 08:00 local time, and for how many.
    assert 'id="campaign-waiting"' in screen
    assert "2 messages wait for the quiet hours" in screen
    french = marketer.get(path, headers={"Accept-Language": "fr-FR"}).text
    assert "2 messages attendent la plage d&#39;envoi : ils partiront le 24/11/2026" in french
    assert "24/11/2026 14:00 (Europe/Paris)" in french
    # Sent: the summary has no confirmation any more.
    assert 'id="confirm-send"' not in marketer.get(path + "/send").text


def test_the_summary_is_in_french_for_a_french_marketer(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)
    path = new_campaign(marketer, group)
    html = marketer.get(path + "/send", headers={"Accept-Language": "fr-FR"}).text
    assert "Avant l&#39;envoi" in html and "Confirmer et envoyer" in html
    assert "Sans consentement aux messages promotionnels" in html
    assert "Premier départ (heure locale du destinataire)" in html


def test_cancel_asks_for_confirmation(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)
    path = new_campaign(marketer, group)
    screen = marketer.get(path).text
    assert f'id="cancel-campaign" href="{path}/cancel"' in screen
    asked = marketer.get(path + "/cancel")
    assert asked.status_code == 200 and 'id="confirm-cancel"' in asked.text
    assert 'id="keep-campaign"' in asked.text
    token = csrf(asked.text)
    again = marketer.post(path + "/cancel", data={"csrf": token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == path + "/cancel"
    assert status(engine) == "draft"
    forged = marketer.post(path + "/cancel", data={"confirmed": "yes"})
    assert forged.status_code == 403 and status(engine) == "draft"
    done = marketer.post(path + "/cancel", data={"csrf": token, "confirmed": "yes"})
    assert done.status_code == 200 and "Cancelled." in done.text
    assert status(engine) == "cancelled"
    assert "nothing to cancel" in marketer.get(path + "/cancel").text


def test_a_draft_is_edited_in_the_composer_and_duplicated_at_any_time(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)
    path = new_campaign(marketer, group, window_start="09:30")
    screen = marketer.get(path).text
    assert f'id="edit-campaign" href="{path}/edit"' in screen
    form = marketer.get(path + "/edit")
    assert form.status_code == 200
    html = form.text
    # The composer, filled with what the campaign is, posting to its edit address.
    assert f'action="{path}/edit"' in html and 'value="Noël"' in html
    assert 'name="window_start" type="time" value="09:30"' in html
    assert f'name="group-{group}" checked' in html
    token = csrf(html)
    fields = {
        "csrf": token,
        "name": "Noël en avance",
        "type": "promotional",
        "template": "Bonjour {{ contact.first_name }}, -30% {{ link }}",
        "target_url": "https://shop.example/noel",
        f"group-{group}": "on",
        "schedule": "now",
        "window_start": "09:30",
        "rate": "5",
    }
    saved = marketer.post(path + "/edit", data=fields)
    assert saved.status_code == 200 and "Campaign saved." in saved.text
    with Session(engine) as session:
        [stored] = session.execute(select(Campaign)).scalars().all()
        assert (stored.name, stored.rate, stored.status) == ("Noël en avance", 5.0, "draft")
        assert "-30%" in stored.template and stored.window_start == "09:30"
    bad = marketer.post(path + "/edit", data={**fields, "template": "{{ contact.nope }}"})
    assert bad.status_code == 422 and "nope" in bad.text and 'value="Noël en avance"' in bad.text
    # Duplicated: a new draft, opened in the composer; the original, once sent, is not
    # editable any more.
    copied = marketer.post(path + "/duplicate", data={"csrf": token})
    assert copied.status_code == 200 and "Campaign duplicated" in copied.text
    assert 'value="Noël en avance (copy)"' in copied.text
    marketer.post(path + "/send", data={"csrf": token, "confirmed": "yes"})
    refused = marketer.get(path + "/edit")
    assert refused.status_code == 409 and "only a draft can be edited" in refused.text
    late = marketer.post(path + "/edit", data=fields)
    assert late.status_code == 409 and "only a draft can be edited" in late.text
    assert 'id="edit-campaign"' not in marketer.get(path).text
    again = marketer.post(path + "/duplicate", data={"csrf": token}, follow_redirects=False)
    assert again.status_code == 303
    with Session(engine) as session:
        listed = session.execute(select(Campaign).order_by(col(Campaign.id))).scalars()
        names = [c.name for c in listed]
    assert names == ["Noël en avance", "Noël en avance (copy)", "Noël en avance (copy)"]


def test_saving_the_composer_keeps_what_it_does_not_show(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    """Reply choices, the unmatched answer, the audience kept as planned and an
    approver's frequency cap are not in the composer: a marketer's edit leaves them be
    (it used to put each back to its default, the A/B test too)."""
    group = audience(engine, clock)
    spec = CampaignSpec(
        name="Rendez-vous",
        type="informational",
        template="Votre rendez-vous demain : répondez OUI ou NON.",
        group_ids=[group],
        choices={"OUI": {"reply": "Merci, à demain."}, "NON": {}},
        unmatched="Répondez OUI ou NON.",
        refresh_audience=False,
        frequency_cap={"max": 3, "days": 7, "gap_hours": 0},
    )
    with session_scope(engine) as session:
        campaign = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
    path = f"/ui/campaigns/{campaign.id}/edit"
    shown = shown_form(marketer.get(path).text)
    saved = marketer.post(path, data={**shown, "name": "Rendez-vous de demain"},
                          follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303, saved.text
    with read_session(engine) as session:
        edited = session.get(Campaign, campaign.id)
        assert edited is not None and edited.name == "Rendez-vous de demain"
        assert set(edited.choices) == {"OUI", "NON"}
        assert edited.unmatched == "Répondez OUI ou NON."
        assert edited.refresh_audience is False
        assert edited.frequency_cap == {"max": 3, "days": 7, "gap_hours": 0}
