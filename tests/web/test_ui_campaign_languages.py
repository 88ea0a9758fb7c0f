"""A bilingual campaign's screens (issue 20): the confirmation page shows the audience per
language and per sender number, and who no number reaches, in the viewer's language; the
campaign previews as any recipient (their language's text and page, from their country's
number); the results split by language and by sender number."""

from __future__ import annotations

import html
import re

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from landing_templates.pages import create_page, publish_page, translate_page
from richsms.accounts.profile import set_brand_name
from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members
from sender.audience.models import Contact
from tests.clock import FrozenClock
from tests.web.test_campaigns_api import plan
from tests.web.test_ui import csrf, marketer  # noqa: F401  (the fixture)
from tests.web.test_ui_composer_languages import Bilingual, bilingual_audience, composer_form


def pages(engine: Engine, clock: FrozenClock) -> tuple[int, int]:
    """A French page and its English translation, both published."""
    heading = [{"type": "heading", "text": "Soldes", "level": 1}]
    with session_scope(engine) as session:
        french = create_page(
            session=session, clock=clock, name="Soldes", language="fr", blocks=heading
        )
        english = translate_page(
            session=session, clock=clock, page_id=french.page.id or 0, language="en"
        )
        for page_id in (french.page.id or 0, english.page.id or 0):
            publish_page(session=session, clock=clock, page_id=page_id)
        return french.page.id or 0, english.page.id or 0


def belgian(engine: Engine, clock: FrozenClock, setup: Bilingual) -> None:
    """A Belgian customer: no number of the campaign is Belgian."""
    with session_scope(engine) as session:
        contact = create_contact(
            session=session, clock=clock, phone="+32470123456", region="BE", first_name="Jan"
        )
        record_consent(
            session=session, contact=contact, consent_type="express", source="shop", clock=clock
        )
        add_members(
            session=session, group_id=setup.group, clock=clock,
            contacts=ContactRefs(region="BE", contact_ids=[contact.id or 0]),
        )  # fmt: skip


def bilingual_campaign(client: TestClient, engine: Engine, clock: FrozenClock) -> tuple[str, int]:
    setup = bilingual_audience(engine, clock)
    belgian(engine, clock, setup)
    french_page, english_page = pages(engine, clock)
    form = composer_form(client, setup) | {
        "template": "Soldes -20 % {{ contact.first_name }} {{ link }}",
        "translation-en": "Sale 20% off {{ contact.first_name }} {{ link }}",
        "page_id": str(french_page),
        "translation-en-page_id": str(english_page),
        "window_start": "00:00",
        "window_end": "23:59",
    }
    created = client.post("/ui/campaigns/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    return created.headers["location"].split("?")[0], english_page


def contact_id(engine: Engine, first_name: str) -> int:
    with Session(engine) as session:
        found = session.scalar(select(Contact.id).where(col(Contact.first_name) == first_name))
        return int(found or 0)


def test_the_confirmation_shows_the_audience_per_language_and_per_number(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    path, _ = bilingual_campaign(marketer, engine, clock)
    summary = marketer.get(path + "/send")
    assert summary.status_code == 200, summary.text
    text = html.unescape(summary.text)
    # Zoé (+33) and Luc (Montréal, no language of his own) in French, Bob in English.
    languages = dict(re.findall(r'data-language="(\w+)">.*?<td>(\d+)</td>', text, re.S))
    assert languages == {"fr": "2", "en": "1"}
    canadian = re.search(r'data-sender="\+15145550000">(.*?)</tr>', text, re.S)
    french = re.search(r'data-sender="36180">(.*?)</tr>', text, re.S)
    assert canadian is not None and french is not None
    assert "<td>CA</td>" in canadian.group(1) and "<td>2</td>" in canadian.group(1)
    assert "en: 1" in canadian.group(1) and "fr: 1" in canadian.group(1)
    assert "Reply STOP to opt out" in canadian.group(1)
    assert "Répondez STOP pour vous désabonner" in canadian.group(1)
    assert "<td>1</td>" in french.group(1) and "STOP au 36180" in french.group(1)
    assert 'data-reason="no sender number for BE"' in text and "No sender number for BE" in text
    marketer.post("/ui/lang", data={"lang": "fr", "next": "/ui/"})
    french_summary = html.unescape(marketer.get(path + "/send").text)
    assert "Aucun numéro d’envoi pour BE" in french_summary
    assert "Destinataires par langue" in french_summary


def test_the_confirmation_warns_of_each_text_that_does_not_name_the_brand(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    path, _ = bilingual_campaign(marketer, engine, clock)
    assert 'id="summary-identification"' not in marketer.get(path + "/send").text  # no brand
    with session_scope(engine) as session:
        set_brand_name(session=session, clock=clock, brand_name="Soldes")
    text = html.unescape(marketer.get(path + "/send").text)
    warned = re.search(r'id="summary-identification"(.*?)</ul>', text, re.S)
    assert warned is not None, text
    # The French text says "Soldes"; the English one does not.
    assert "English (en)</strong> — The text does not name your brand (Soldes)" in warned.group(1)
    assert "French (fr)" not in warned.group(1)


def test_the_campaign_previews_as_any_recipient_in_their_language_from_their_number(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    path, english_page = bilingual_campaign(marketer, engine, clock)
    screen = html.unescape(marketer.get(path).text)
    assert "Soldes -20 % {{ contact.first_name }} {{ link }}" in screen  # both texts shown
    assert "Sale 20% off {{ contact.first_name }} {{ link }}" in screen
    bob = html.unescape(marketer.get(f"{path}?as={contact_id(engine, 'Bob')}").text)
    assert "Sale 20% off Bob https://" in bob and "Reply STOP to opt out" in bob
    assert "Text in English (en), sent from +15145550000." in bob
    assert f'src="/ui/pages/{english_page}/preview?contact_id=' in bob
    luc = html.unescape(marketer.get(f"{path}?as={contact_id(engine, 'Luc')}").text)
    assert "Soldes -20 % Luc https://" in luc and "Répondez STOP pour vous désabonner" in luc
    assert "Text in French (fr), sent from +15145550000." in luc
    zoe = html.unescape(marketer.get(f"{path}?as={contact_id(engine, 'Zoé')}").text)
    assert "Soldes -20 % Zoé https://" in zoe and "STOP au 36180" in zoe
    jan = html.unescape(marketer.get(f"{path}?as={contact_id(engine, 'Jan')}").text)
    assert "No sender number for BE" in jan and 'role="alert"' in jan


def test_the_results_split_by_language_and_by_sender_number(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    path, _ = bilingual_campaign(marketer, engine, clock)
    token = csrf(marketer.get(path + "/send").text)
    sent = marketer.post(path + "/send", data={"csrf": token, "confirmed": "yes"})
    assert sent.status_code == 200, sent.text
    plan(marketer.app, clock)
    screen = html.unescape(marketer.get(path).text)
    by_language = re.search(r'data-split="by_language">(.*?)</table>', screen, re.S)
    by_sender = re.search(r'data-split="by_sender">(.*?)</table>', screen, re.S)
    assert by_language is not None and by_sender is not None, screen
    produced = r'data-key="{}"><th scope="row">[^<]*</th>\s*<td>(\d+)</td>'
    assert re.findall(produced.format("fr"), by_language.group(1)) == ["2"]
    assert re.findall(produced.format("en"), by_language.group(1)) == ["1"]
    assert re.findall(produced.format(r"\+15145550000"), by_sender.group(1)) == ["2"]
    assert re.findall(produced.format("36180"), by_sender.group(1)) == ["1"]
    assert "No sender number for BE: 1" in screen  # who was left out, and why
