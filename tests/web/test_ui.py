"""The marketers' UI through a browser's eyes (HTTP): sign-in, CSRF, the composer with
its live analysis, approval by someone else, results, the phone simulator, languages."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.accounts import create_admin
from richsms.accounts.roles import Role
from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from tests.clock import FrozenClock

PASSWORD = "correct horse battery staple"


def make_user(
    engine: Engine, clock: FrozenClock, email: str, role: Role = Role.ADMIN
) -> None:
    with session_scope(engine) as session:
        create_admin(session=session, email=email, password=PASSWORD, clock=clock, role=role)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> object:
    form = client.get("/ui/signin")
    return client.post(
        "/ui/signin",
        data={"csrf": csrf(form.text), "email": email, "password": password},
        follow_redirects=False,
    )


@pytest.fixture
def marketer(client: TestClient, engine: Engine, clock: FrozenClock) -> TestClient:
    make_user(engine, clock, "anne@shop.example")
    response = sign_in(client, "anne@shop.example")
    assert response.status_code == 303  # type: ignore[attr-defined]
    return client


def audience(engine: Engine, clock: FrozenClock) -> int:
    with session_scope(engine) as session:
        group = create_group(session=session, name="VIP", clock=clock)
        for i, (name, language) in enumerate((("Zoé", "fr"), ("Bob", "en"))):
            contact = create_contact(
                session=session,
                clock=clock,
                phone=f"+3361234560{i}",
                region="FR",
                first_name=name,
                language=language,
            )
            record_consent(
                session=session,
                contact=contact,
                consent_type="express",
                source="shop",
                clock=clock,
            )
            add_members(
                session=session,
                group_id=group.id or 0,
                clock=clock,
                contacts=ContactRefs(region="FR", contact_ids=[contact.id or 0]),
            )
        assert group.id is not None
        return group.id


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    for path in ("/ui/", "/ui/contacts", "/ui/simulator", "/ui/campaigns/new"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/ui/signin")
    page = client.get("/ui/signin")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_sign_in_sets_a_safe_cookie_and_wrong_passwords_say_so(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example")
    wrong = sign_in(client, "anne@shop.example", "not the password")
    assert wrong.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong email or password." in wrong.text  # type: ignore[attr-defined]
    right = sign_in(client, "ANNE@shop.example")
    assert right.status_code == 303  # type: ignore[attr-defined]
    cookie = right.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/ui/").status_code == 200
    signout = client.get("/ui/")
    client.post("/ui/signout", data={"csrf": csrf(signout.text)})
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_behind_a_proxy_each_client_has_its_own_sign_in_budget(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    from web.app import create_app

    make_user(engine, clock, "anne@shop.example")
    behind = settings.replace(trusted_proxies="10.0.0.0/8")
    with TestClient(create_app(behind, clock=clock), client=("10.0.0.2", 41000)) as proxied:
        proxied.headers["X-Forwarded-For"] = "203.0.113.7"
        guesses = [sign_in(proxied, f"user{n}@shop.example", "guess") for n in range(31)]
        assert [g.status_code for g in guesses] == [401] * 30 + [429]  # type: ignore[attr-defined]
        # Everyone else comes through the same proxy, and is not locked out with them.
        proxied.headers["X-Forwarded-For"] = "198.51.100.4"
        assert sign_in(proxied, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]


def test_a_post_without_the_csrf_token_changes_nothing(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group = audience(engine, clock)
    forged = marketer.post(
        "/ui/campaigns/new",
        data={"name": "Forged", "type": "informational", "template": "Hi", f"group-{group}": "on"},
    )
    assert forged.status_code == 403
    with Session(engine) as session:
        assert session.execute(select(Campaign)).first() is None


def test_compose_with_the_live_analysis_then_create(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group = audience(engine, clock)
    token = csrf(marketer.get("/ui/campaigns/new").text)
    form = {
        "csrf": token,
        "name": "Noël",
        "type": "promotional",
        "template": "Bonjour {{ contact.first_name }} … -20% {{ link }}",
        "target_url": "https://shop.example/noel",
        f"group-{group}": "on",
        "schedule": "now",
        "rate": "10",
    }
    analysis = marketer.post("/ui/analyze", data=form)
    assert analysis.status_code == 200
    html = analysis.text
    assert "UCS-2" in html  # the ellipsis forces it
    assert "<del>…</del><ins>...</ins>" in html  # the suggestion, as a diff
    assert "UCS-2, 1 SMS → GSM-7, 1 SMS" in html  # and what it changes
    assert "2 destinataires" in html or "2 recipients" in html
    assert "Bonjour Zoé" in html and "https://ex.co/" in html and "STOP" in html
    created = marketer.post("/ui/campaigns/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = marketer.get(created.headers["location"])
    assert page.status_code == 200 and "Noël" in page.text and "Campaign created." in page.text


def test_a_bad_template_is_shown_in_the_analysis_and_the_form_kept(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group = audience(engine, clock)
    token = csrf(marketer.get("/ui/campaigns/new").text)
    form = {"csrf": token, "name": "Oops", "type": "informational",
            "template": "Hi {{ contact.nickname }}", f"group-{group}": "on"}
    analysis = marketer.post("/ui/analyze", data=form)
    assert "Unknown field &#39;nickname&#39;" in analysis.text
    again = marketer.post("/ui/campaigns/new", data=form)
    assert again.status_code == 422
    assert "Unknown field" in again.text and 'value="Oops"' in again.text


def test_a_french_marketer_reads_the_composer_problems_in_french(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group = audience(engine, clock)
    marketer.headers["Accept-Language"] = "fr"
    token = csrf(marketer.get("/ui/campaigns/new").text)
    form = {"csrf": token, "name": "Oups", "type": "informational",
            "template": "Bonjour\n{{ contact.prenon }}", f"group-{group}": "on"}
    analysis = html.unescape(marketer.post("/ui/analyze", data=form).text)
    assert "Champ inconnu « prenon ». Champs connus : " in analysis
    assert "(ligne 2, colonne 12)" in analysis and "Unknown" not in analysis
    broken = html.unescape(marketer.post("/ui/analyze", data=form | {"template": "{{ x"}).text)
    assert "Erreur de syntaxe (ligne 1, colonne 5) : " in broken
    nobody = marketer.post("/ui/campaigns/new", data=form | {
        "template": "Bonjour", f"group-{group}": ""})
    assert nobody.status_code == 422
    assert "choisissez une audience : au moins un groupe ou un segment" in html.unescape(
        nobody.text
    )
    english = marketer.post("/ui/analyze", data=form, headers={"Accept-Language": "en"})
    assert "Unknown field &#39;prenon&#39;" in english.text
    assert "(line 2, column 12)" in english.text


def create_awaiting_approval(client: TestClient, engine: Engine, clock: FrozenClock) -> str:
    """A campaign needing approval, created through the composer by whoever is signed in:
    its page's path."""
    group = audience(engine, clock)
    token = csrf(client.get("/ui/campaigns/new").text)
    created = client.post(
        "/ui/campaigns/new",
        data={"csrf": token, "name": "Soldes", "type": "informational", "template": "Soldes !",
              f"group-{group}": "on", "requires_approval": "on"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    path: str = created.headers["location"].split("?")[0]
    return path


def test_nobody_approves_their_own_campaign(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example")
    make_user(engine, clock, "paul@shop.example")
    sign_in(client, "anne@shop.example")
    path = create_awaiting_approval(client, engine, clock)
    own = client.post(path + "/approve", data={"csrf": csrf(client.get(path).text)})
    assert own.status_code == 403
    sign_in(client, "paul@shop.example")
    token = csrf(client.get(path).text)
    approved = client.post(path + "/approve", data={"csrf": token}, follow_redirects=False)
    assert approved.status_code == 303
    with Session(engine) as session:
        assert session.execute(select(Campaign.status)).scalar() == "approved"


def test_results_page_and_exports(marketer: TestClient, engine: Engine, clock: FrozenClock) -> None:
    from tests.sender.results.test_campaign_stats import seed

    campaign_id = seed(engine, clock)
    page = marketer.get(f"/ui/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert page.text.count("<svg") == 2 and "role=\"img\"" in page.text
    export = marketer.get(f"/ui/campaigns/{campaign_id}/export/messages.csv")
    assert export.status_code == 200 and export.text.startswith("message_id,")


def test_the_simulator_shows_messages_and_a_reply_opts_out(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    audience(engine, clock)
    with session_scope(engine) as session:
        contact = session.execute(select(Contact).where(Contact.first_name == "Zoé")).scalar_one()
        session.add(
            Message(contact_id=contact.id, phone=contact.phone, type="promotional",
                    text="Bonjour Zoé https://ex.co/AbCdEfGhJ STOP au 36180", state="sent",
                    due_at=clock.now(), planned_at=clock.now(), sent_at=clock.now())
        )
    page = marketer.get("/ui/simulator")
    assert page.status_code == 200
    assert '<a href="https://ex.co/AbCdEfGhJ"' in page.text
    replied = marketer.post(
        "/ui/simulator/reply",
        data={"csrf": csrf(page.text), "phone": "+33612345600", "text": "STOP"},
        follow_redirects=False,
    )
    assert replied.status_code == 303
    with Session(engine) as session:
        status = session.execute(select(Contact.status).where(Contact.first_name == "Zoé")).scalar()
    assert status == "opted_out"
    assert "STOP" in marketer.get(replied.headers["location"]).text


def test_french_from_the_browser_and_the_switch(marketer: TestClient) -> None:
    french = marketer.get("/ui/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text and "Campagnes" in french.text
    marketer.post("/ui/lang", data={"lang": "en", "next": "/ui/"})
    english = marketer.get("/ui/", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in english.text and "Campaigns" in english.text
    marketer.post("/ui/lang", data={"lang": "en", "next": "https://evil.example/"})


def test_a_campaign_previews_as_any_recipient(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    group = audience(engine, clock)
    token = csrf(marketer.get("/ui/campaigns/new").text)
    created = marketer.post(
        "/ui/campaigns/new",
        data={"csrf": token, "name": "Soldes", "type": "promotional",
              "template": "Bonjour {{ contact.first_name }} -20% {{ link }}",
              "target_url": "https://shop.example/", f"group-{group}": "on"},
        follow_redirects=False,
    )
    path = created.headers["location"].split("?")[0]
    first = marketer.get(path).text
    assert "Bonjour Zoé -20% https://ex.co/" in first and "STOP" in first
    with Session(engine) as session:
        bob = session.execute(select(Contact.id).where(Contact.first_name == "Bob")).scalar()
    as_bob = marketer.get(f"{path}?as={bob}").text
    assert "Bonjour Bob -20% https://ex.co/" in as_bob and "Reply STOP" in as_bob


def test_campaigns_compared_side_by_side(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    from tests.sender.results.test_campaign_stats import seed

    first, second = seed(engine, clock, "Noël"), seed(engine, clock, "Soldes")
    page = marketer.get(f"/ui/compare?campaigns={first}&campaigns={second}")
    assert page.status_code == 200
    assert "Noël" in page.text and "Soldes" in page.text
    assert page.text.count("100.0 %") >= 2  # each one's click-through rate
    assert marketer.get("/ui/compare?campaigns=abc&campaigns=99").status_code == 200


def test_a_notice_in_a_link_is_shown_only_when_it_is_one_of_ours(
    marketer: TestClient,
) -> None:
    """After a form, the page it leads to says what happened (`?notice=`); a link crafted
    by someone else cannot make a page of the UI say their words."""
    ours = marketer.get("/ui/inbound/review", params={"notice": "Reply closed."})
    assert 'role="status">Reply closed.</p>' in ours.text
    crafted = "Your account is locked: call +33 6 00 00 00 00"
    theirs = marketer.get("/ui/inbound/review", params={"notice": crafted})
    assert theirs.status_code == 200
    assert "account is locked" not in theirs.text
    assert 'class="notice"' not in theirs.text
