"""What recipients do on their page reaches the results, in a real chromium on a phone:
two recipients of one campaign scratch a card (a finger drag), one spins the wheel (a
losing slice says its own text), copies the code and taps the button; each reload shows
the card scratched and the wheel spun; the stats API and the campaign's results screen
count the people who did each thing, with their share of the people who opened the page.
A coupon block shown as barcode and QR shows one code in both symbols."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from landing_templates.links import issue_page_links
from landing_templates.pages import create_page, publish_page
from richsms.accounts import create_admin, create_token
from richsms.db import session_scope
from sender.campaigns.models import Campaign
from shortener.codes import CodeMaker
from tests.browser.conftest import LiveServer, scratch_card, shoot, sign_in
from tests.conftest import TEST_SECRET
from tests.landing_templates.pagekit import add_contact

LOSER = "Pas de chance, retentez au prochain SMS !"
SHOP = "https://shop.example/noel"
BLOCKS: list[dict[str, Any]] = [
    {"type": "heading", "text": "Bonjour {{ contact.first_name }}"},
    {"id": "cp", "type": "coupon", "source": "generate", "pattern": "NOEL-######",
     "symbology": "both", "label": "Votre code"},
    {"id": "sc", "type": "scratch", "prize": "text", "text": "Livraison offerte !"},
    # The losing slice is all but certain: its text shows, never "Vous avez gagné : Perdu".
    {"id": "wh", "type": "wheel", "prizes": [
        {"label": "Perdu", "weight": 1_000_000, "text": LOSER},
        {"label": "-20 %", "weight": 0.000001,
         "coupon": {"source": "generate", "pattern": "ROUE-######"}},
    ]},
    {"id": "go", "type": "button", "label": "La boutique", "href": SHOP},
]


def seed_campaign(live: LiveServer) -> tuple[int, list[str]]:
    """A sent campaign with the page, two recipients: (campaign id, their short links)."""
    now = live.clock.now()
    ada = add_contact(live.engine, live.clock, first_name="Ada", phone="+33612345601",
                      language="fr")
    bob = add_contact(live.engine, live.clock, first_name="Bob", phone="+33612345602",
                      language="fr")
    with session_scope(live.engine) as session:
        page = create_page(session=session, clock=live.clock, name="Noël", language="fr",
                           blocks=BLOCKS)
        assert page.page.id is not None
        publish_page(session=session, clock=live.clock, page_id=page.page.id)
        campaign = Campaign(name="Noël", type="promotional", status="done", template="x",
                            page_id=page.page.id, created_at=now, updated_at=now)
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        issued = issue_page_links(
            session=session, codes=CodeMaker(TEST_SECRET), clock=live.clock,
            base_url=live.settings.base_url, page_id=page.page.id, contact_ids=[ada, bob],
            campaign_id=campaign.id,
        )
        return campaign.id, [live.url + link.code for link in issued]


def scratch(page: Page) -> None:
    scratch_card(page)
    expect(page.locator(".sc")).to_have_class("blk sc done")


def stats_when(live: LiveServer, token: str, campaign_id: int,
               want: dict[str, int]) -> dict[str, Any]:
    """The campaign's stats once the beacons (sent as the browser likes) and the clicks
    (stored by a background writer) have all landed; fails if they never do."""
    url = f"{live.url}api/campaigns/{campaign_id}/stats"
    for _ in range(200):
        report: dict[str, Any] = httpx.get(
            url, headers={"Authorization": f"Bearer {token}"}).json()
        engagement = report["engagement"]
        if engagement["page_events"] == want and engagement["unique_clicks"] == 2:
            return report
        time.sleep(0.05)
    raise AssertionError(f"the page events never reached the stats: {engagement}")


def test_taps_on_the_page_reach_the_stats_and_the_results_screen(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    live = live_server
    campaign_id, (ada_link, bob_link) = seed_campaign(live)
    with session_scope(live.engine) as session:
        token = create_token(session=session, name="stats", clock=live.clock)
        create_admin(session=session, email="nina@shop.example", password="pw-" * 6,
                     clock=live.clock)
    phone.route(SHOP, lambda route: route.fulfill(body="<p>La boutique</p>",
                                                 content_type="text/html"))
    page = phone.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(ada_link)

    # One coupon block, one code, drawn as a barcode and as a QR code.
    coupon = page.locator(".cp[data-block='cp']")
    code = coupon.locator(".cp-text").inner_text()
    assert re.fullmatch(r"NOEL-\d{6}", code)
    assert coupon.locator(".cp-sym").count() == 2
    expect(coupon.locator(".cp-code128 svg")).to_have_attribute(
        "aria-label", f"Code 128 barcode: {code}")
    expect(coupon.locator(".cp-qr svg")).to_have_attribute(
        "aria-label", f"QR code: {live.url}r/{code}")

    scratch(page)
    page.locator(".wh-spin").click()
    result = page.locator(".wh-result")
    expect(result.locator(".wh-text")).to_have_text(LOSER, timeout=6000)
    expect(result).not_to_contain_text("gagné")
    coupon.locator(".cp-copy").click()
    shoot(page, screenshots, "page-events-done")
    page.locator("a.btn[data-block='go']").click()
    expect(page).to_have_url(SHOP)

    # Back on the page: the card stays scratched, the wheel stays spun.
    page.goto(ada_link)
    expect(page.locator(".sc")).to_have_class("blk sc done")
    assert page.locator(".sc-layer").count() == 0
    expect(page.locator(".sc-prize")).to_contain_text("Livraison offerte !")
    expect(page.locator(".sc-prize")).not_to_have_attribute("aria-hidden", "true")
    expect(page.locator(".wh-result .wh-text")).to_have_text(LOSER)
    expect(page.locator(".wh-spin")).to_be_disabled()
    shoot(page, screenshots, "page-events-reloaded")

    bob = phone.new_page()
    bob.goto(bob_link)
    expect(bob.locator(".sc")).to_have_class("blk sc")  # Ada's scratch is not Bob's
    scratch(bob)
    bob.reload()
    expect(bob.locator(".sc")).to_have_class("blk sc done")
    assert errors == [], errors

    want = {"scratch_revealed": 2, "wheel_spun": 1, "coupon_copied": 1, "button_tapped": 1}
    report = stats_when(live, token, campaign_id, want)
    assert report["engagement"]["page_event_rates"] == {
        "scratch_revealed": 1.0, "wheel_spun": 0.5, "coupon_copied": 0.5, "button_tapped": 0.5,
    }

    desk = phone.new_page()
    sign_in(desk, live, "nina@shop.example", "pw-" * 6)
    desk.goto(f"{live.url}ui/campaigns/{campaign_id}")
    shown = {
        kind: (desk.locator(f"[data-event='{kind}'] .count").inner_text(),
               desk.locator(f"[data-event='{kind}'] .rate").inner_text())
        for kind in want
    }
    assert shown == {
        "scratch_revealed": ("2", "100,0 %"),
        "wheel_spun": ("1", "50,0 %"),
        "coupon_copied": ("1", "50,0 %"),
        "button_tapped": ("1", "50,0 %"),
    }
    shoot(desk, screenshots, "page-events-results")
