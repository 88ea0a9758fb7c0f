"""The composer in several languages (issue 20): the main text and a translation side by
side, a language added and removed in one click, each text with its own analysis and the
preview of a recipient of its language (their country's number and mention); several
sender numbers; the campaign saved with its translations and opened again with them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.campaigns.models import Campaign
from sender.delivery.senders import create_sender
from tests.clock import FrozenClock
from tests.web.test_ui import csrf, marketer  # noqa: F401  (the fixture)

HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Bilingual:
    group: int
    canadian: int  # a Canadian long code
    french: int  # a French short code


def bilingual_audience(engine: Engine, clock: FrozenClock) -> Bilingual:
    """A French customer (+33), a French-speaking and an English-speaking Quebecer, a
    Canadian long code and a French short code."""
    with session_scope(engine) as session:
        group = create_group(session=session, name="Québec et France", clock=clock)
        people = (
            ("Zoé", "+33612345601", "FR", "fr"),
            ("Luc", "+15145550101", "CA", None),  # a Montréal number: French
            ("Bob", "+15145550102", "CA", "en"),
        )
        for name, phone, region, language in people:
            contact = create_contact(
                session=session, clock=clock, phone=phone, region=region,
                first_name=name, language=language,
            )  # fmt: skip
            record_consent(
                session=session, contact=contact, consent_type="express", source="shop",
                clock=clock,
            )  # fmt: skip
            add_members(
                session=session, group_id=group.id or 0, clock=clock,
                contacts=ContactRefs(region=region, contact_ids=[contact.id or 0]),
            )  # fmt: skip
        types = ["promotional", "informational"]
        canadian = create_sender(
            session=session, clock=clock, kind="long_code", value="+15145550000", rate=10,
            allowed_types=types, country="CA",
        )  # fmt: skip
        french = create_sender(
            session=session, clock=clock, kind="short_code", value="36180", rate=10,
            allowed_types=types, country="FR",
        )  # fmt: skip
        return Bilingual(group.id or 0, canadian.id or 0, french.id or 0)


def composer_form(client: TestClient, setup: Bilingual) -> dict[str, str]:
    return {
        "csrf": csrf(client.get("/ui/campaigns/new").text),
        "name": "Soldes / Sale",
        "type": "promotional",
        "language": "fr",
        "template": "Soldes -20 % {{ contact.first_name }}",
        f"group-{setup.group}": "on",
        f"sender-{setup.canadian}": "on",
        f"sender-{setup.french}": "on",
        "schedule": "now",
        "rate": "10",
    }


def test_a_translation_is_added_beside_the_main_text_and_removed_in_one_click(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    setup = bilingual_audience(engine, clock)
    form = composer_form(marketer, setup)
    empty = marketer.get("/ui/campaigns/new").text
    assert 'name="translation-en"' not in empty and "Add an English translation" in empty
    assert f'name="sender-{setup.canadian}"' in empty and f'name="sender-{setup.french}"' in empty
    added = marketer.post("/ui/campaigns/new", data=form | {"add_language": "en"})
    assert added.status_code == 200, added.text  # nothing saved: the form, with a column
    assert 'name="translation-en"' in added.text and 'id="analysis-en"' in added.text
    assert "Remove the English translation" in added.text
    assert "Soldes -20 % {{ contact.first_name }}" in html.unescape(added.text)  # kept
    with Session(engine) as session:
        assert session.get(Campaign, 1) is None
    removed = marketer.post(
        "/ui/campaigns/new",
        data=form | {"translation-en": "Sale", "remove_language": "en"},
    )
    assert removed.status_code == 200 and 'name="translation-en"' not in removed.text
    # A translation left empty is refused, naming it, and nothing is saved.
    empty_translation = marketer.post("/ui/campaigns/new", data=form | {"translation-en": " "})
    assert empty_translation.status_code == 422
    assert "translations.en.template" in empty_translation.text


def test_each_text_has_its_analysis_and_the_preview_of_a_recipient_of_its_language(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    setup = bilingual_audience(engine, clock)
    form = composer_form(marketer, setup) | {
        "translation-en": "Sale 20% off {{ contact.first_name }}",
    }
    answer = marketer.post("/ui/analyze", data=form, headers=HTMX)
    assert answer.status_code == 200, answer.text
    text = html.unescape(answer.text)
    main, _, english = text.partition('id="analysis-en" hx-swap-oob="innerHTML"')
    assert english, text  # the translation's panel, swapped in beside its text
    # The French text, as Zoé (+33) gets it from the French short code; two recipients
    # are addressed in French (Zoé, and Luc by his Montréal number).
    assert "Soldes -20 % Zoé" in main and "STOP au 36180" in main
    assert re.search(r"2 recipients", main), main
    # The English text, as Bob gets it from the Canadian number with its mention.
    assert "Sale 20% off Bob" in english and "Reply STOP to opt out" in english
    assert re.search(r"1 recipients", english), english
    assert "Soldes" not in english and "Sale 20%" not in main


def test_the_campaign_is_saved_with_its_translation_and_numbers_and_opened_again(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    setup = bilingual_audience(engine, clock)
    form = composer_form(marketer, setup) | {
        "translation-en": "Sale 20% off {{ contact.first_name }}",
        "default_sender_id": str(setup.canadian),
    }
    created = marketer.post("/ui/campaigns/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    with Session(engine) as session:
        campaign = session.get(Campaign, 1)
        assert campaign is not None
        assert campaign.language == "fr"
        assert campaign.translations == {
            "en": {"template": "Sale 20% off {{ contact.first_name }}", "page_id": None}
        }
        assert campaign.sender_ids == [setup.canadian, setup.french]
        assert campaign.default_sender_id == setup.canadian
    edit = html.unescape(marketer.get("/ui/campaigns/1/edit").text)
    assert "Sale 20% off {{ contact.first_name }}</textarea>" in edit
    assert f'name="sender-{setup.canadian}" checked' in edit
    assert f'name="sender-{setup.french}" checked' in edit
    saved = marketer.post(
        "/ui/campaigns/1/edit",
        data=form | {"csrf": csrf(edit), "translation-en": "Sale: 30% off"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with Session(engine) as session:
        campaign = session.get(Campaign, 1)
        assert campaign is not None
        assert campaign.translations["en"]["template"] == "Sale: 30% off"
