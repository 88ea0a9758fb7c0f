"""axe-core (vendored, run in chromium) on each screen of the marketers' UI with the demo
data: no serious or critical WCAG 2 A/AA violation, on a desktop and a phone window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from sender.demo import DemoReport, seed_demo
from tests.browser.conftest import LiveServer, desktop_and_phone

AXE = Path(__file__).with_name("vendor") / "axe.min.js"

SCREENS = [
    "ui/",
    "ui/campaigns/new",
    "ui/campaigns/{campaign}",
    "ui/campaigns/{draft}",
    "ui/contacts",
    "ui/contacts?q=Zo",
    "ui/contacts/1",
    "ui/contacts/import",
    "ui/groups",
    "ui/groups/1",
    "ui/segments",
    "ui/senders",
    "ui/messages",
    "ui/pages",
    "ui/pages/{page}",
    "ui/simulator",
]


@pytest.fixture
def demo(live_server: LiveServer) -> DemoReport:
    report = seed_demo(engine=live_server.engine, settings=live_server.settings,
                       now=live_server.clock.now())
    assert report is not None
    return report


@pytest.fixture
def windows(tmp_path: Path, demo: DemoReport) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """A desktop window (English) and a phone (French), seeded first: seeding runs the
    worker's event loop, which may not run inside Playwright's."""
    with desktop_and_phone(
        tmp_path, desktop_locale="en-GB", phone_locale="fr-FR"
    ) as windows:
        yield windows


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious or critical WCAG 2 A/AA violations on the page as it is (axe
    evaluated through the DevTools protocol, which the page's CSP does not apply to)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});"
        " return {passes: r.passes.length, violations: r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', '))};"
        " }"
    )
    assert result["passes"] > 5  # axe did run
    return list(result["violations"])


def sign_in(page: Page, live: LiveServer, demo: DemoReport) -> dict[str, list[str]]:
    """Signs in, and axe's findings on the sign-in screen on the way."""
    page.goto(live.url + "ui/signin")
    found = {"ui/signin": serious_violations(page)}
    page.fill("#email", demo.email)
    page.fill("#password", demo.password)
    page.click("form[action='/ui/signin'] button")
    expect(page).to_have_url(live.url + "ui/")
    return found


def audit(page: Page, live: LiveServer, demo: DemoReport) -> dict[str, list[str]]:
    found = sign_in(page, live, demo)
    ids = {"campaign": demo.campaign_id, "draft": demo.campaign_id + 1, "page": demo.page_id}
    for screen in SCREENS:
        path = screen.format(**ids)
        response = page.goto(live.url + path)
        assert response is not None and response.status == 200, path
        if path == "ui/campaigns/new":  # with its analysis shown
            page.locator("input[name^='group-']").first.check()
            page.fill("#template", "Bonjour {{ contact.first_name }}, -20 % à Noël : {{ link }}")
            expect(page.locator("#analysis dl")).to_be_visible()
        found[path] = serious_violations(page)
    return {path: violations for path, violations in found.items() if violations}


def test_no_serious_accessibility_violation_on_a_desktop(
    live_server: LiveServer, demo: DemoReport, windows: tuple[BrowserContext, BrowserContext]
) -> None:
    desktop, _phone = windows
    assert audit(desktop.new_page(), live_server, demo) == {}


def test_no_serious_accessibility_violation_on_a_phone_in_french(
    live_server: LiveServer, demo: DemoReport, windows: tuple[BrowserContext, BrowserContext]
) -> None:
    _desktop, phone = windows
    assert audit(phone.new_page(), live_server, demo) == {}
