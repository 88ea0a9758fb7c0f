"""A new marketer's whole journey in chromium, from an empty database: sign in (an admin
created by the same use case as `richsms user create`), import contacts from a CSV, put
them in a group, build and publish a page, compose a campaign with that page while the
analysis updates, send it, let the worker hand it to the console provider, open the phone
simulator, tap the link (the landing page opens), reply STOP, and read one click and one
opt-out in the campaign's results and on the dashboard.

Desktop window for the marketer's screens, a phone (touch, 390 px) for the simulator and
the landing page. A screenshot of each step: tests/artifacts/browser/journey-NN-name.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from richsms.accounts import create_admin
from richsms.db import session_scope
from tests.browser.conftest import (
    LiveServer,
    desktop_and_phone,
    figure,
    hand_over,
    import_csv,
    settled,
    shoot,
    sign_in,
    wait_for_click,
    watch,
)

EMAIL = "nina@shop.example"
PASSWORD = "correct horse battery staple"
CSV = (
    "first_name;last_name;phone;language;consent_type;consent_source\n"
    "Zoé;Moreau;+33612345610;fr;express;boutique\n"
    "Hugo;Dubois;+33612345603;fr;express;boutique\n"
    "Liam;Smith;+447911123456;en;express;boutique\n"
)
ZOE = "+33612345610"


@pytest.fixture
def windows(tmp_path: Path) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """A desktop window and a phone (touch, 390 px wide), from one Playwright."""
    with desktop_and_phone(
        tmp_path, desktop_locale="en-GB", phone_locale="en-GB"
    ) as windows:
        yield windows


class Steps:
    """Numbered screenshots: journey-01-signin.png, journey-02-…"""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def shoot(self, page: Page, name: str) -> None:
        self.count += 1
        shoot(page, self.folder, f"journey-{self.count:02d}-{name}")


def test_a_new_marketer_sends_a_campaign_and_sees_the_click_from_the_phone(
    live_server: LiveServer,
    windows: tuple[BrowserContext, BrowserContext],
    screenshots: Path,
) -> None:
    live = live_server
    desktop, phone = windows
    steps = Steps(screenshots)
    with session_scope(live.engine) as session:  # what `richsms user create` does
        create_admin(session=session, email=EMAIL, password=PASSWORD, clock=live.clock)
    errors: list[str] = []
    page = desktop.new_page()
    watch(page, errors)

    # Sign in: an empty dashboard.
    page.goto(live.url)
    expect(page).to_have_url(live.url + "ui/signin")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    steps.shoot(page, "signin")
    page.click("form[action='/ui/signin'] button")
    expect(page).to_have_url(live.url + "ui/")
    expect(page.locator("main")).to_contain_text("No campaign yet")
    steps.shoot(page, "empty-dashboard")

    # Contacts: a CSV upload and its report.
    import_csv(page, live, CSV, 3)
    steps.shoot(page, "contacts-imported")
    page.goto(live.url + "ui/contacts")
    expect(page.locator("main")).to_contain_text("Zoé")
    steps.shoot(page, "contacts")

    # A group with them.
    page.goto(live.url + "ui/groups")
    page.fill("#group-name", "Clients fidèles")
    page.click("form[action='/ui/groups'] button")
    expect(page.locator("h1")).to_contain_text("Clients fidèles")
    page.fill("#phones", "+33612345610\n+33612345603\n+447911123456")
    page.click("form[action$='/members'] button")
    expect(page.locator("h1 .count")).to_contain_text("3")
    steps.shoot(page, "group")

    # A page: a heading with the first name, a text; published.
    page.goto(live.url + "ui/pages")
    page.fill("#page-name", "Soldes d'hiver")
    page.click("form[action='/ui/pages'] button")
    expect(page.locator("#page-title")).to_have_text("Soldes d'hiver")
    page.click(".add-block summary")
    page.click(".add-block button[value='heading']")
    expect(page.locator("#blocks > li")).to_have_count(1)
    settled(page)
    heading = page.locator("#blocks > li").nth(0)
    heading.locator("input[name='text']").fill("Hello {{ contact.first_name }}")
    with page.expect_response(lambda r: r.request.method == "POST" and "/blocks/" in r.url):
        heading.locator(".block-form button.primary").click()
    settled(page)  # the saved block swapped in: the add menu is the new one
    page.click(".add-block summary")
    page.click(".add-block button[value='text']")
    expect(page.locator("#blocks > li")).to_have_count(2)
    settled(page)
    text = page.locator("#blocks > li").nth(1)
    text.locator("textarea[name='text']").fill("Everything at -50 % this weekend.")
    text.locator(".block-form button.primary").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_contain_text("Hello")
    with page.expect_response(lambda r: r.url.endswith("/publish")):
        page.click("form[action$='/publish'] button.primary")
    expect(page.locator("form[action$='/publish'] button.primary")).to_be_disabled()
    steps.shoot(page, "page-published")

    # The composer: the analysis appears as one types.
    page.goto(live.url + "ui/")
    page.click("a[href='/ui/campaigns/new']")
    page.fill("#name", "Winter sale")
    # The page is listed with its language ("Soldes d'hiver (fr)"): picked by its name.
    chosen = page.locator("#page_id option", has_text="Soldes d'hiver")
    page.select_option("#page_id", value=chosen.get_attribute("value"))
    page.check("input[name^='group-']")
    page.locator("#template").press_sequentially("Hi {{ contact.first_name }}, -50% this weekend: ")
    page.locator("button.insert[data-insert='{{ link }}']").click()
    analysis = page.locator("#analysis")
    expect(analysis).to_contain_text("GSM-7")
    expect(analysis).to_contain_text("3 recipients")
    expect(analysis).to_contain_text("STOP")
    expect(analysis).to_contain_text(live.url)  # the link, in place, once inserted
    steps.shoot(page, "composer")
    # Enter in a field saves, as the Save button does (not the "add a translation" one).
    page.press("#name", "Enter")
    expect(page).to_have_url(re.compile(r"/ui/campaigns/1\?notice="))
    steps.shoot(page, "campaign-draft")

    # Send: the summary first, then the confirmation; the worker hands it over to the
    # console provider.
    page.click("#send-campaign")
    expect(page.locator("#summary-recipients")).to_have_text("3")
    page.click("#confirm-send")
    expect(page.locator("h1 .tag")).not_to_have_text("draft")
    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
        pool.submit(hand_over, live).result(timeout=60)
    page.reload()
    expect(page.locator("h1 .tag")).to_have_text("done")
    assert figure(page, "Sent") == "3"
    steps.shoot(page, "campaign-sent")

    # The phone: the message arrives; its link opens the page.
    mobile = phone.new_page()
    watch(mobile, errors)
    sign_in(mobile, live, EMAIL, PASSWORD)
    mobile.goto(live.url + "ui/simulator?phone=%2B33612345610")
    bubble = mobile.locator(".bubble.theirs").first
    expect(bubble).to_contain_text("Hi Zoé, -50% this weekend:")
    steps.shoot(mobile, "simulator-message")
    with phone.expect_page() as opened:
        bubble.locator("a").click()
    landing = opened.value
    expect(landing.locator("h1")).to_have_text("Hello Zoé")
    steps.shoot(landing, "landing-page")
    landing.close()

    # Reply STOP: the opt-out goes through the inbound handler.
    mobile.fill("#reply-text", "STOP")
    mobile.click("form.reply button")
    expect(mobile.locator(".bubble.mine")).to_contain_text("STOP")
    steps.shoot(mobile, "simulator-stop")

    # Back on the desktop: one click, one opt-out.
    wait_for_click(live)
    page.goto(live.url + "ui/campaigns/1")
    assert figure(page, "Clicks") == "1"
    assert figure(page, "Unique clicks") == "1"
    assert figure(page, "Opt-outs") == "1"
    steps.shoot(page, "results")
    page.goto(live.url + "ui/")
    campaign = page.locator("ul.campaigns li:has(a[href='/ui/campaigns/1'])")
    expect(campaign).to_contain_text("1 click")
    steps.shoot(page, "dashboard")
    assert errors == [], errors
