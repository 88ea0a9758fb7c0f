"""What a recipient sees on a phone, in a real chromium: countdown, scratch card, wheel,
escaping of a contact's data, and the card link-preview bots get."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import BrowserContext, expect
from sqlmodel import Session, select

from landing_templates.models import WheelSpin
from tests.browser.conftest import LiveServer, scratch_card, seed, shoot
from tests.landing_templates.pagekit import rich_blocks

WHATSAPP_UA = "WhatsApp/2.23.20.0 A"


def test_the_countdown_ticks_then_shows_its_expired_text(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    blocks = [
        {"type": "heading", "text": "Vite !"},
        {"type": "countdown", "deadline": (live_server.clock.now() + timedelta(seconds=2))
         .isoformat(), "expired_text": "L'offre est terminée", "label": "Fin dans"},
    ]
    url, _ = seed(live_server, blocks, first_name="Ada")
    page = phone.new_page()
    page.goto(url)
    seconds = page.locator(".cd-run b").nth(3)
    expect(seconds).to_have_text("02")
    box = page.locator(".cd").bounding_box()
    shoot(page, screenshots, "countdown-running")
    expect(seconds).to_have_text("01", timeout=3000)
    expect(page.locator(".cd-done")).not_to_have_class("cd-done off", timeout=4000)
    expect(page.locator(".cd-run")).to_have_class("cd-run off")
    assert page.locator(".cd").bounding_box() == box  # no layout shift at expiry
    shoot(page, screenshots, "countdown-expired")


def test_a_touch_scratch_reveals_the_coupon(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    url, _ = seed(live_server, rich_blocks(live_server.clock.now()), first_name="Ada")
    page = phone.new_page()
    page.goto(url)
    shoot(page, screenshots, "rich-page")
    scratch_card(page)
    expect(page.locator(".sc")).to_have_class("blk sc done")
    prize = page.locator(".sc-prize")
    expect(prize).not_to_have_attribute("aria-hidden", "true")
    expect(prize.locator(".cp-text")).to_have_text(re.compile(r"^SCR-\d{6}$"))
    shoot(page, screenshots, "scratch-revealed")


def test_the_wheel_lands_on_the_stored_prize_and_keeps_it(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    url, contact = seed(live_server, rich_blocks(live_server.clock.now()), first_name="Ada")
    page = phone.new_page()
    page.goto(url)
    page.locator(".wh-spin").click()
    won = page.locator(".wh-won b")
    expect(won).to_be_visible(timeout=6000)
    with Session(live_server.engine) as session:
        spin = session.exec(select(WheelSpin).where(WheelSpin.contact_id == contact)).one()
    expect(won).to_have_text(spin.label)
    angle = page.locator(".wh-wheel").evaluate("e => e.style.transform")
    shoot(page, screenshots, "wheel-spun")
    page.reload()
    expect(page.locator(".wh-won b")).to_have_text(spin.label)
    expect(page.locator(".wh-spin")).to_be_disabled()
    assert page.locator(".wh-wheel").evaluate("e => e.style.transform") == angle
    shoot(page, screenshots, "wheel-reloaded")


def test_a_merge_field_holding_script_renders_as_text(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    hostile = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
    url, _ = seed(live_server, rich_blocks(live_server.clock.now()), first_name=hostile)
    page = phone.new_page()
    page.goto(url)
    expect(page.locator("h1")).to_have_text(f"Hello {hostile}")
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("main img[src=x]").count() == 0
    shoot(page, screenshots, "escaped-merge-field")


def test_literal_markup_in_a_block_with_a_merge_field_renders_as_text(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    written = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>Hi "
    blocks = [
        {"type": "heading", "text": written + "{{ contact.first_name }}"},
        {"type": "text", "text": "<b onmouseover=window.pwned=3>{{ contact.first_name }}</b>"},
    ]
    url, _ = seed(live_server, blocks, first_name="Zoé")
    page = phone.new_page()
    page.goto(url)
    expect(page.locator("h1")).to_have_text(written + "Zoé")
    expect(page.locator("main")).to_contain_text("<b onmouseover=window.pwned=3>Zoé</b>")
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("main img[src=x]").count() == 0
    assert page.locator("main b[onmouseover]").count() == 0
    shoot(page, screenshots, "escaped-literal-text")


def test_a_bot_gets_the_card_without_personal_data(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    url, _ = seed(live_server, rich_blocks(live_server.clock.now()), first_name="Ada")
    page = phone.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.setUserAgentOverride", {"userAgent": WHATSAPP_UA})
    response = page.goto(url)
    assert response is not None and response.status == 200
    html = page.content()
    og_title = page.locator('meta[property="og:title"]')
    expect(og_title).to_have_attribute("content", "Soldes d'hiver")
    expect(page.locator("h1")).to_have_text("Soldes d'hiver")
    assert "Ada" not in html and "NOEL-" not in html
    assert page.locator("script").count() == 0
    shoot(page, screenshots, "bot-card")
