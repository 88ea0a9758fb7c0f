"""An A/B test on a campaign's results screen: each variant's figures side by side with
the interval and the decision; while it waits, the marketer's button sends a variant."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.applications import Starlette
from starlette.testclient import TestClient

from landing_templates.pages import create_page, publish_page
from richsms.db import read_session, session_scope
from richsms.settings import Settings
from sender.campaigns.ab.decision import decide_due_tests
from sender.campaigns.campaign import CampaignSpec, create_campaign, request_send
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from tests.clock import FrozenClock
from tests.sender.campaigns.ab.test_ab_tests import plan, send_due
from tests.sender.campaigns.test_planning_job import seed
from tests.web.test_ui import audience, csrf, marketer  # noqa: F401  (a fixture)


def test_the_results_screen_shows_the_variants_and_the_marketer_decides(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    group_id = seed(engine, clock, 20)
    spec = CampaignSpec(
        name="Soldes",
        type="promotional",
        template="Soldes {{ link }}",
        target_url="https://shop.example/soldes",
        group_ids=[group_id],
        window_start="00:00",
        window_end="23:59",
        rate=1000,
        ab_test={
            "variants": [{"template": "Vite {{ link }}"}, {"template": "Dernier jour {{ link }}"}],
            "test_share": 0.5,
            "decide_after_minutes": 30,
            "if_no_winner": "wait",
        },
    )
    with session_scope(engine) as session:
        campaign = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
    path = f"/ui/campaigns/{campaign.id}"
    before = marketer.get(path + "/send").text
    assert 'id="summary-ab-test"' in before and "50.0 % of these recipients" in before
    with session_scope(engine) as session:
        request_send(session=session, clock=clock, campaign_id=campaign.id or 0)
    plan(engine, clock, settings)
    send_due(engine, clock)

    screen = marketer.get(path).text
    assert 'id="test-variant"' in screen
    tested = marketer.post(
        path + "/test", data={"csrf": csrf(screen), "phone": "+33781000001", "variant": "1"}
    )
    assert tested.status_code == 200 and "Test message queued." in tested.text
    with read_session(engine) as session:
        test_text = session.execute(
            select(col(Message.text)).where(col(Message.is_test).is_(True))
        ).scalar_one()
    assert test_text.startswith("Dernier jour ")
    assert 'id="ab-test-results"' in screen
    assert "Vite {{ link }}" in screen and "Dernier jour {{ link }}" in screen
    assert screen.count('<td>5</td>') >= 4  # recipients and sent, per variant
    assert 'id="ab-test-comparison"' in screen and "95% interval" in screen
    assert 'id="ab-test-due"' in screen

    clock.advance(timedelta(minutes=31))
    assert decide_due_tests(engine=engine, clock=clock) == [campaign.id]
    screen = marketer.get(path).text
    assert "choose the variant the rest of the audience gets" in screen
    assert "Send B to the rest" in screen
    chosen = marketer.post(
        path + "/ab_test/decision", data={"csrf": csrf(screen), "variant": "1"}
    )
    assert chosen.status_code == 200
    assert "Variant chosen: the rest of the audience gets it." in chosen.text
    assert "Variant B chosen by a marketer" in chosen.text
    plan(engine, clock, settings)
    with read_session(engine) as session:
        rest = session.execute(
            select(col(Message.text)).where(
                col(Message.campaign_id) == campaign.id, col(Message.is_test).is_(False)
            )
        ).scalars()
        assert sum(1 for t in rest if t.startswith("Dernier jour ")) == 15

    french = marketer.post("/ui/lang", data={"lang": "fr"})
    assert french.status_code in (200, 303)
    assert "Variante B choisie par un marketeur" in marketer.get(path).text


# --- Setting a test up in the composer ------------------------------------------------


class _Form(HTMLParser):
    """The values a browser posts for the composer's form (`#composer`): text inputs,
    checked boxes and radios, textareas, selected options; buttons left out."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._inside = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._inside = a.get("id") == "composer"
        if not self._inside or not a.get("name") and tag != "option":
            return
        if tag == "input" and (a.get("type") not in ("checkbox", "radio") or "checked" in a):
            self.values[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self.values.setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data


def shown_form(html: str) -> dict[str, str]:
    found = _Form()
    found.feed(html)
    return found.values


def published_page(engine: Engine, clock: FrozenClock, name: str) -> int:
    heading = [{"type": "heading", "text": name, "level": 1}]
    with session_scope(engine) as session:
        made = create_page(session=session, clock=clock, name=name, language="fr", blocks=heading)
        publish_page(session=session, clock=clock, page_id=made.page.id or 0)
        return made.page.id or 0


def test_a_marketer_sets_up_a_three_variant_test_edits_it_and_removes_it(
    marketer: TestClient,  # noqa: F811
    app: Starlette,
    token: str,
    engine: Engine,
    clock: FrozenClock,
) -> None:
    group = audience(engine, clock)
    page_id = published_page(engine, clock, "Soldes Lune")
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    composer = marketer.get("/ui/campaigns/new").text
    assert 'id="add-ab-test"' in composer and 'name="ab-0-template"' not in composer  # off
    campaign = {
        "csrf": csrf(composer),
        "name": "Soldes",
        "type": "informational",
        "language": "fr",
        "template": "Soldes ce week-end {{ link }}",
        "translation-en": "Sale this weekend {{ link }}",
        "target_url": "https://shop.example/soldes",
        f"group-{group}": "on",
        "schedule": "now",
        "zone": "Europe/Paris",
        "rate": "10",
    }

    # The panel opens with two variants (nothing saved), and takes a third.
    opened = marketer.post("/ui/campaigns/new", data={**campaign, "ab_change": "add"})
    assert opened.status_code == 200 and 'id="ab-test"' in opened.text
    assert "Decide after (1 minute to 7 days)" in opened.text
    assert 'name="ab-1-translation-en"' in opened.text and 'name="ab-2-template"' not in opened.text
    shown = shown_form(opened.text)
    assert shown["template"] == campaign["template"]  # what was typed stays
    third = marketer.post("/ui/campaigns/new", data={**shown, "ab_change": "add_variant"})
    shown = shown_form(third.text)
    assert shown["ab-variants"] == "3" and "ab-2-template" in shown
    with Session(engine) as session:
        assert session.execute(select(Campaign)).first() is None

    test = {
        "ab-0-template": "Vite, -20 % {{ link }}",
        "ab-0-translation-en": "Quick, 20% off {{ link }}",
        "ab-1-send_at": "2026-11-25T18:30",
        "ab-2-page_id": str(page_id),
        "ab-share": "30",
        "ab-metric": "redemption_rate",
        "ab-decide": "2",
        "ab-decide-unit": "hours",
        "ab-if_no_winner": "fallback-1",
    }
    # A variant's own texts get their SMS analysis beside them, as a translation does.
    analysed = marketer.post("/ui/analyze", data={**shown, **test}).text
    oob = r'<div id="(analysis-[^"]+)" hx-swap-oob="innerHTML">(.*?)(?=<div id="analysis-|\Z)'
    panels = {
        target: html for target, html in re.findall(oob, analysed, re.S) if "SMS analysis" in html
    }
    # The English translation's, then variant A's two texts: B and C keep the campaign's.
    assert list(panels) == ["analysis-en", "analysis-ab-0", "analysis-ab-0-en"]
    assert "Variant A" in panels["analysis-ab-0"] and "Vite, -20 % http" in panels["analysis-ab-0"]
    assert "Quick, 20% off http" in panels["analysis-ab-0-en"]
    # Typed again with what the page now shows: only what changed is analysed again.
    analyzed = re.search(r'name="ab-analyzed" value="([^"]*)"', analysed)
    assert analyzed is not None
    shows = {**shown, **test, "ab-analyzed": analyzed[1]}
    again = marketer.post("/ui/analyze", data={**shows, "ab-0-template": "Vite, -25 % {{ link }}"})
    panels = dict(re.findall(oob, again.text, re.S))
    assert list(panels) == ["analysis-en", "analysis-ab-0", "analysis-ab-0-en"]
    assert "Vite, -25 % http" in panels["analysis-ab-0"]
    again = marketer.post("/ui/analyze", data={**shows, "template": "Soldes {{ link }}"})
    assert list(dict(re.findall(oob, again.text, re.S))) == ["analysis-en"]
    again = marketer.post("/ui/analyze", data={**shows, "ab-0-template": ""})
    panels = dict(re.findall(oob, again.text, re.S))  # A's main text gone: its panel emptied
    assert list(panels) == ["analysis-en", "analysis-ab-0-en", "analysis-ab-0"]
    assert panels["analysis-ab-0"].startswith("</div>")

    # Variant B changing the text without its English: refused beside that field.
    refused = marketer.post(
        "/ui/campaigns/new", data={**shown, **test, "ab-1-template": "Dernier jour {{ link }}"}
    )
    assert refused.status_code == 422
    error = re.search(r'<p class="field-error" id="([^"]+)-error"[^>]*>([^<]+)</p>', refused.text)
    assert error is not None
    assert error[1] == "ab-1-translation-en" and "changes the main text" in error[2]
    assert 'aria-describedby="ab-1-translation-en-error"' in refused.text
    kept = shown_form(refused.text)
    assert kept["ab-1-template"] == "Dernier jour {{ link }}" and kept["ab-share"] == "30"
    with Session(engine) as session:
        assert session.execute(select(Campaign)).first() is None

    created = marketer.post("/ui/campaigns/new", data={**shown, **test}, follow_redirects=False)
    assert created.status_code == 303, created.text
    campaign_id = int(created.headers["location"].split("/")[3].split("?")[0])
    expected = {
        "variants": [
            {
                "template": "Vite, -20 % {{ link }}",
                "page_id": None,
                "translations": {"en": {"template": "Quick, 20% off {{ link }}", "page_id": None}},
                "send_at": None,
            },
            {"template": None, "page_id": None, "translations": None,
             "send_at": "2026-11-25T18:30:00+01:00"},
            {"template": None, "page_id": page_id, "translations": None, "send_at": None},
        ],
        "test_share": 0.3,
        "metric": "redemption_rate",
        "decide_after_minutes": 120,
        "if_no_winner": "fallback",
        "fallback": 1,
    }  # fmt: skip
    assert api.get(f"/api/campaigns/{campaign_id}").json()["ab_test"] == expected

    # The campaign screen sums the test up before it is sent.
    screen = marketer.get(f"/ui/campaigns/{campaign_id}").text
    summary = screen[screen.index('id="ab-test-summary"') :]
    summary = summary[: summary.index("</section>")]
    for shown_text in ("Vite, -20 %", "Quick, 20% off", "Soldes Lune", "30", "2 hours",
                       "redemption", "variant B"):  # fmt: skip
        assert shown_text in summary, shown_text

    # In French, the summary and a refusal beside its field are French too.
    assert marketer.post("/ui/lang", data={"lang": "fr"}).status_code in (200, 303)
    screen = marketer.get(f"/ui/campaigns/{campaign_id}").text
    assert "2\u00a0heures" in screen and "sinon la variante B" in screen
    refused = marketer.post(
        "/ui/campaigns/new", data={**shown, **test, "ab-1-template": "Dernier jour {{ link }}"}
    )
    assert re.search(
        r'id="ab-1-translation-en-error" role="alert">La variante B change le texte principal',
        refused.text,
    )

    # Editing the draft shows its test filled in; saved as shown, it is the same test.
    path = f"/ui/campaigns/{campaign_id}/edit"
    editing = shown_form(marketer.get(path).text)
    assert editing["ab-variants"] == "3" and editing["ab-1-send_at"] == "2026-11-25T17:30"
    assert (editing["ab-decide"], editing["ab-decide-unit"]) == ("2", "hours")
    assert editing["ab-if_no_winner"] == "fallback-1" and editing["ab-2-page_id"] == str(page_id)
    saved = marketer.post(path, data=editing, follow_redirects=False)
    assert saved.status_code == 303
    expected["variants"][1]["send_at"] = "2026-11-25T17:30:00Z"  # the same instant, in UTC
    assert api.get(f"/api/campaigns/{campaign_id}").json()["ab_test"] == expected

    # Variant A removed: B and C move up a letter, the fallback follows B.
    fewer = shown_form(marketer.post(path, data={**editing, "ab_change": "remove-0"}).text)
    assert fewer["ab-variants"] == "2" and fewer["ab-if_no_winner"] == "fallback-0"
    assert fewer["ab-0-send_at"] == "2026-11-25T17:30" and fewer["ab-1-page_id"] == str(page_id)

    # Removing the test removes it.
    removed = marketer.post(path, data={**editing, "ab_change": "remove"})
    assert 'id="ab-test"' not in removed.text and 'id="add-ab-test"' in removed.text
    saved = marketer.post(path, data=shown_form(removed.text), follow_redirects=False)
    assert saved.status_code == 303
    assert api.get(f"/api/campaigns/{campaign_id}").json()["ab_test"] is None
    assert 'id="ab-test-summary"' not in marketer.get(f"/ui/campaigns/{campaign_id}").text


def test_each_bad_value_of_the_section_is_refused_beside_its_field_never_a_500(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
) -> None:
    group = audience(engine, clock)
    composer = marketer.get("/ui/campaigns/new").text
    campaign = {
        "csrf": csrf(composer),
        "name": "Soldes",
        "type": "informational",
        "template": "Soldes ce week-end",
        f"group-{group}": "on",
        "zone": "Europe/Paris",
        "ab-variants": "2",
        "ab-0-template": "Vite, les soldes",
        "ab-1-template": "Dernier jour des soldes",
    }
    refusals = {
        "ab-share": {"ab-share": "0"},
        "ab-decide": {"ab-decide": "8", "ab-decide-unit": "days"},
        "ab-metric": {"ab-metric": "opens"},
        "ab-0-send_at": {"ab-0-send_at": "demain"},
        "ab-1-page_id": {"ab-1-template": "", "ab-1-page_id": "999"},
        "ab-1": {"ab-1-template": " "},  # a variant that changes nothing
        "ab-0-template": {"ab-0-template": "Vite {{ contact.unknown_field }}"},
    }
    said: dict[str, str] = {}
    for field, values in refusals.items():
        refused = marketer.post("/ui/campaigns/new", data={**campaign, **values})
        assert refused.status_code == 422, (field, refused.status_code)
        shown = re.search(r'<p class="field-error" id="([^"]+)-error"[^>]*>([^<]*)', refused.text)
        assert shown is not None and shown[1] == field, (field, shown)
        said[field] = shown[2]
        assert shown_form(refused.text)["ab-0-template"] == {**campaign, **values}["ab-0-template"]
    # A button the section would not offer (a third variant's removal) saves nothing.
    for action in ("remove-1", "add", "shuffle"):
        shown_again = marketer.post("/ui/campaigns/new", data={**campaign, "ab_change": action})
        assert shown_again.status_code == 200 and 'name="ab-1-template"' in shown_again.text
    with Session(engine) as session:
        assert session.execute(select(Campaign)).first() is None
    # The share and the delay are told in the section's units (percent, days).
    assert said["ab-share"] == "More than 0 %, at most 100 %."
    assert said["ab-decide"] == "From 1 minute to 7 days."
    # 1.5 hours is 90 minutes; more than 4 variants asked for is 4.
    fine = marketer.post(
        "/ui/campaigns/new",
        data={**campaign, "ab-decide": "1,5", "ab-decide-unit": "hours", "ab-variants": "9"},
    )
    assert fine.status_code == 422  # variants C and D were left empty
    assert 'id="ab-2-error"' in fine.text and 'name="ab-3-template"' in fine.text
    created = marketer.post(
        "/ui/campaigns/new",
        data={**campaign, "ab-decide": "1,5", "ab-decide-unit": "hours"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    with Session(engine) as session:
        saved = session.execute(select(Campaign)).scalar_one()
        assert saved.ab_test is not None and saved.ab_test["decide_after_minutes"] == 90
