"""Issue 21's composer in chromium, on SQLite and PostgreSQL: a marketer opens the "A/B test"
section, gives variant A its own text (analysed live beside it, as the main text is) and
variant B a later send time, sets the share, the metric, the decision delay and "wait for
me", saves, and the campaign's screen sums the test up; on a phone, in French, the draft
opens in the composer with its test filled in and its screen says the same in French.
axe: no serious or critical violation on the section. JavaScript off, the section works
with plain forms. Screenshots in
tests/artifacts/browser/ab-test-*.png (desktop and phone)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from richsms.accounts import create_admin
from richsms.db import session_scope
from sender.audience.contacts import create_contact, record_consent
from sender.audience.groups import ContactRefs, add_members, create_group
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    desktop_and_phone,
    shoot,
    sign_in,
    watch,
)
from tests.browser.test_ui_accessibility import serious_violations

PASSWORD = "correct horse battery staple"


def seed(live: LiveServer) -> int:
    """A marketer and a group of two French contacts who consented."""
    with session_scope(live.engine) as session:
        create_admin(session=session, email="anne@shop.example", password=PASSWORD,
                     clock=live.clock)  # fmt: skip
        group = create_group(session=session, name="Clients Lyon", clock=live.clock)
        for n, name in enumerate(("Zoé", "Léa")):
            contact = create_contact(session=session, clock=live.clock, region="FR",
                                     phone=f"+3361234560{n}", first_name=name, language="fr")
            record_consent(session=session, contact=contact, consent_type="express",
                           source="magasin", clock=live.clock)  # fmt: skip
            add_members(session=session, group_id=group.id or 0, clock=live.clock,
                        contacts=ContactRefs(region="FR", contact_ids=[contact.id or 0]))
        return group.id or 0


def test_a_marketer_composes_a_two_variant_test_and_sees_its_summary(
    live_server_each_backend: LiveServer, screenshots: Path, tmp_path: Path
) -> None:
    live = live_server_each_backend
    group = seed(live)
    errors: list[str] = []
    with desktop_and_phone(tmp_path, desktop_locale="en-GB", phone_locale="fr-FR") as (
        desktop,
        phone,
    ):
        page = desktop.new_page()
        watch(page, errors)
        sign_in(page, live, "anne@shop.example", PASSWORD)
        page.goto(live.url + "ui/campaigns/new")
        expect(page.locator("#ab-test")).to_have_count(0)  # off by default
        page.fill("#name", "Soldes d'hiver")
        page.check(f"input[name='group-{group}']")
        page.fill("#template", "Bonjour {{ contact.first_name }}, -20 % ce week-end")
        page.click("#add-ab-test")
        expect(page.locator("#ab-test")).to_be_visible()
        expect(page.locator("#template")).to_have_value(
            "Bonjour {{ contact.first_name }}, -20 % ce week-end"
        )
        expect(page.locator("#ab-2")).to_have_count(0)  # two variants to start with
        page.fill("#ab-0-template", "Bonjour {{ contact.first_name }}, -30 % ce samedi")
        analysis = page.locator("#analysis-ab-0")
        expect(analysis).to_contain_text("Variant A")
        expect(analysis).to_contain_text("Bonjour Zoé, -30 % ce samedi")  # as Zoé gets it
        page.fill("#ab-1-send_at", "2026-11-25T18:00")
        page.fill("#ab-share", "25")
        page.check("input[name='ab-metric'][value='redemption_rate']")
        page.fill("#ab-decide", "3")
        page.select_option("#ab-decide-unit", "days")
        page.check("input[name='ab-if_no_winner'][value='wait']")
        page.fill("#template", "Bonjour {{ contact.first_name }}, -20 % tout le week-end")
        expect(page.locator("#analysis")).to_contain_text("-20 % tout le week-end")
        expect(analysis).to_contain_text("Bonjour Zoé, -30 % ce samedi")  # kept, not redone
        assert serious_violations(page) == []
        page.locator("#ab-test").scroll_into_view_if_needed()
        shoot(page, screenshots, "ab-test-composer-desktop")
        page.click("button.primary")
        expect(page.locator(".notice").first).to_have_text("Campaign created.")
        summary = page.locator("#ab-test-summary")
        expect(page.locator("pre.sms").first).to_contain_text("tout le week-end")
        expect(summary.locator("li[data-variant='A']")).to_contain_text("-30 % ce samedi")
        expect(summary.locator("li[data-variant='B']")).to_contain_text("The campaign's text")
        variant_b = summary.locator("li[data-variant='B']")
        expect(variant_b).to_contain_text("11/25/26, 6:00 PM")  # in Paris, as typed
        expect(page.locator("#ab-test-rule")).to_contain_text(
            "25.0 % of the audience tested, split evenly between the 2 variants; "
            "metric: Redemptions (redemption rate)."
        )
        expect(page.locator("#ab-test-rule")).to_contain_text("3 days")
        expect(page.locator("#ab-test-rule")).to_contain_text("else you choose")
        summary.scroll_into_view_if_needed()
        shoot(page, screenshots, "ab-test-summary-desktop")
        campaign_url = page.url.split("?")[0]

        mobile = phone.new_page()
        watch(mobile, errors)
        sign_in(mobile, live, "anne@shop.example", PASSWORD)
        mobile.goto(campaign_url + "/edit")
        expect(mobile.locator("#ab-0-template")).to_have_value(
            "Bonjour {{ contact.first_name }}, -30 % ce samedi"
        )
        expect(mobile.locator("#ab-share")).to_have_value("25")
        expect(mobile.locator("#ab-decide")).to_have_value("3")
        expect(mobile.locator("input[name='ab-if_no_winner'][value='wait']")).to_be_checked()
        expect(mobile.locator("#analysis-ab-0")).to_contain_text("Bonjour Zoé, -30 % ce samedi")
        width = mobile.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone
        shoot(mobile, screenshots, "ab-test-composer-phone")
        mobile.goto(campaign_url)
        rule = mobile.locator("#ab-test-rule")
        expect(rule).to_contain_text("25,0 % de l'audience testée")
        expect(rule).to_contain_text("3 jours")
        expect(rule).to_contain_text("sinon vous choisissez")
        expect(mobile.locator("#ab-test-summary li[data-variant='B']")).to_contain_text(
            "Variante B"
        )
        shoot(mobile, screenshots, "ab-test-summary-phone")
    assert errors == [], "\n".join(errors)


def test_without_javascript_the_section_works_with_plain_forms(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """JavaScript off: the section opens, takes a third variant and lets it go again, and
    a two-variant test is saved, through plain form posts."""
    live = live_server
    group = seed(live)
    with sync_playwright() as playwright:
        window = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, locale="en-GB",
            java_script_enabled=False,
        )  # fmt: skip
        try:
            page = window.new_page()
            sign_in(page, live, "anne@shop.example", PASSWORD)
            page.goto(live.url + "ui/campaigns/new")
            page.fill("#name", "Soldes sans script")
            page.check(f"input[name='group-{group}']")
            page.fill("#template", "Soldes ce week-end")
            page.click("#add-ab-test")
            page.click("button[name='ab_change'][value='add_variant']")
            expect(page.locator("#ab-2")).to_be_visible()
            page.click("button[name='ab_change'][value='remove-2']")
            expect(page.locator("#ab-2")).to_have_count(0)
            expect(page.locator("#template")).to_have_value("Soldes ce week-end")
            page.fill("#ab-0-template", "Soldes : -30 % ce samedi")
            page.fill("#ab-1-template", "Soldes : dernier jour")
            page.click("button.primary")
            expect(page.locator(".notice").first).to_have_text("Campaign created.")
            expect(page.locator("#ab-test-summary li[data-variant='B']")).to_contain_text(
                "dernier jour"
            )
            expect(page.locator("#ab-test-rule")).to_contain_text("20.0 % of the audience")
        finally:
            window.close()
