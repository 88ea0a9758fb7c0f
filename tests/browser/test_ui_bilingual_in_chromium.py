"""Issue 20's composer in chromium, on SQLite and PostgreSQL: a marketer writes a French
text, adds an English translation beside it in one click, and watches each text's own
analysis preview it as a recipient of its language gets it (Zoé in France from the
French short code, Bob in Montréal from the Canadian number, each with that number's
opt-out mention); the English one is warned of until it names the brand. Saved, the
campaign previews as Bob in English with the English page and as Zoé in French.
Screenshots in tests/artifacts/browser/bilingual-*.png."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from landing_templates.pages import create_page, publish_page, translate_page
from richsms.accounts import create_admin
from richsms.accounts.profile import set_brand_name
from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.delivery.senders import create_sender
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, shoot, sign_in, watch

PASSWORD = "correct horse battery staple"


def seed(live: LiveServer) -> dict[str, int]:
    """Zoé (+33), Luc (Montréal, no language of his own) and Bob (Montréal, English) in
    one group; a Canadian long code and a French short code; a French page and its
    English translation; the brand name "Boutique Lune"."""
    clock = live.clock
    with session_scope(live.engine) as session:
        create_admin(session=session, email="anne@shop.example", password=PASSWORD, clock=clock)
        set_brand_name(session=session, clock=clock, brand_name="Boutique Lune")
        group = create_group(session=session, name="Québec et France", clock=clock)
        ids: dict[str, int] = {"group": group.id or 0}
        for name, phone, region, language in (
            ("Zoé", "+33612345601", "FR", "fr"),
            ("Luc", "+15145550101", "CA", None),
            ("Bob", "+15145550102", "CA", "en"),
        ):
            contact = create_contact(session=session, clock=clock, phone=phone, region=region,
                                     first_name=name, language=language)  # fmt: skip
            record_consent(session=session, contact=contact, consent_type="express",
                           source="boutique", clock=clock)  # fmt: skip
            member = ContactRefs(region=region, contact_ids=[contact.id or 0])
            add_members(session=session, group_id=group.id or 0, clock=clock, contacts=member)
            ids[name] = contact.id or 0
        for kind, value, country in (("long_code", "+15145550000", "CA"),
                                     ("short_code", "36180", "FR")):  # fmt: skip
            number = create_sender(session=session, clock=clock, kind=kind, value=value,
                                   rate=10, allowed_types=["promotional"], country=country)
            ids[country] = number.id or 0
        heading = [{"type": "heading", "text": "Soldes de la Lune", "level": 1}]
        french = create_page(session=session, clock=clock, name="Soldes", language="fr",
                             blocks=heading)  # fmt: skip
        english = translate_page(session=session, clock=clock, page_id=french.page.id or 0,
                                 language="en")  # fmt: skip
        for page in (french, english):
            publish_page(session=session, clock=clock, page_id=page.page.id or 0)
        ids["page-fr"], ids["page-en"] = french.page.id or 0, english.page.id or 0
        return ids


def test_a_french_and_an_english_text_side_by_side_each_previewed(
    live_server_each_backend: LiveServer, screenshots: Path, tmp_path: Path
) -> None:
    live = live_server_each_backend
    ids = seed(live)
    errors: list[str] = []
    with sync_playwright() as playwright:
        window = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000}, locale="en-US",
        )  # fmt: skip
        try:
            page = window.new_page()
            watch(page, errors)
            sign_in(page, live, "anne@shop.example", PASSWORD)
            page.goto(live.url + "ui/campaigns/new")
            expect(page.locator(".brand-note")).to_contain_text("Boutique Lune")
            page.fill("#name", "Soldes de la Lune / Moon sale")
            page.check(f"input[name='group-{ids['group']}']")
            page.check(f"input[name='sender-{ids['CA']}']")
            page.check(f"input[name='sender-{ids['FR']}']")
            page.fill("#template", "Boutique Lune : -20 % {{ contact.first_name }} {{ link }}")
            page.select_option("#page_id", str(ids["page-fr"]))
            french = page.locator("#analysis")
            expect(french).to_contain_text("Boutique Lune : -20 % Zoé http")
            expect(french).to_contain_text("STOP au 36180")
            expect(french).to_contain_text("3 recipients")  # one text: everyone gets it

            # One click adds the English column beside the French one, the French kept.
            page.click("button[name='add_language'][value='en']")
            english_text = page.locator("#translation-en")
            expect(english_text).to_be_visible()
            expect(page.locator("#template")).to_have_value(
                "Boutique Lune : -20 % {{ contact.first_name }} {{ link }}"
            )
            french_box = page.locator("#template").bounding_box()
            english_box = english_text.bounding_box()
            assert french_box is not None and english_box is not None
            assert english_box["x"] > french_box["x"] + french_box["width"]  # side by side
            assert abs(english_box["y"] - french_box["y"]) < 80

            english_text.fill("20% off for you, {{ contact.first_name }}! {{ link }}")
            english = page.locator("#analysis-en")
            expect(french).to_contain_text("2 recipients")  # Zoé, and Luc by his number
            expect(english).to_contain_text("20% off for you, Bob! http")
            expect(english).to_contain_text("Reply STOP to opt out")
            expect(english).to_contain_text("1 recipients")
            expect(english.locator(".warnings")).to_contain_text(
                "does not name your brand (Boutique Lune)"
            )
            expect(french.locator(".warnings")).to_have_count(0)
            english_text.fill("Boutique Lune: 20% off, {{ contact.first_name }}! {{ link }}")
            expect(english).to_contain_text("Boutique Lune: 20% off, Bob! http")
            expect(english.locator(".warnings")).to_have_count(0)
            page.select_option("#translation-en-page_id", str(ids["page-en"]))
            shoot(page, screenshots, "bilingual-composer")

            page.click("button.primary[type='submit']")
            expect(page.locator("p.notice")).to_contain_text("Campaign created.")
            # Previewed as Bob: the English text from the Canadian number, the English page.
            page.select_option("#preview-as", str(ids["Bob"]))
            page.click("#preview-as ~ button")
            expect(page.locator(".bubble.theirs")).to_contain_text("Boutique Lune: 20% off, Bob!")
            expect(page.locator(".bubble.theirs")).to_contain_text("Reply STOP to opt out")
            expect(page.locator("#preview-variant")).to_contain_text("+15145550000")
            frame = page.frame_locator("iframe.page-frame")
            expect(page.locator("iframe.page-frame")).to_have_attribute(
                "src", f"/ui/pages/{ids['page-en']}/preview?contact_id={ids['Bob']}"
            )
            expect(frame.locator("h1")).to_contain_text("Soldes de la Lune")
            shoot(page, screenshots, "bilingual-preview-bob")
            # As Zoé: the French text from the French short code, the French page.
            page.select_option("#preview-as", str(ids["Zoé"]))
            page.click("#preview-as ~ button")
            expect(page.locator(".bubble.theirs")).to_contain_text("Boutique Lune : -20 % Zoé")
            expect(page.locator(".bubble.theirs")).to_contain_text("STOP au 36180")
            expect(page.locator("iframe.page-frame")).to_have_attribute(
                "src", f"/ui/pages/{ids['page-fr']}/preview?contact_id={ids['Zoé']}"
            )
        finally:
            window.close()
    assert errors == []
