"""The contacts screens in chromium, on a desktop and a phone-sized window: a CSV with a
bad row is uploaded (progress bar, then the result and the report downloaded as a CSV
whose formula-like cell is neutralised), a segment's count follows the conditions as
they are typed, a saved message fills the composer. axe: no serious or critical
violation; no CSP refusal. Screenshots in tests/artifacts/browser/contacts-*.png."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from richsms.accounts import create_admin
from richsms.db import session_scope
from sender.compose.library import save_message_template
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE_UA, LiveServer, shoot, sign_in
from tests.browser.test_ui_builder_in_chromium import serious_violations

PASSWORD = "correct horse battery staple"
CSV = (
    "phone,first_name,language\n"
    "0612345678,Zoé,fr\n"
    "=1+1,Bad,fr\n"
    "+33698765432,Léa,fr\n"
    "+447911123456,Bob,en\n"
)


@pytest.fixture(params=["desktop", "phone"])
def window(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrowserContext]:
    size = {"width": 1280, "height": 900} if request.param == "desktop" else None
    with sync_playwright() as playwright:
        options: dict[str, object] = {"viewport": size} if size else {
            "viewport": {"width": 390, "height": 844},
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
            "user_agent": PHONE_UA,
        }
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            locale="en-GB",
            accept_downloads=True,
            **options,  # type: ignore[arg-type]
        )
        try:
            yield context
        finally:
            context.close()


def seed_and_sign_in(page: Page, live: LiveServer) -> None:
    with session_scope(live.engine) as session:
        create_admin(session=session, email="anne@shop.example", password=PASSWORD,
                     clock=live.clock)
        save_message_template(session=session, clock=live.clock, settings=live.settings,
                              name="Winter sale", type="informational",
                              text="Hello {{ contact.first_name }}, see you soon")
    sign_in(page, live, "anne@shop.example", PASSWORD)


def test_import_segment_and_library_in_the_browser(
    live_server: LiveServer, window: BrowserContext, screenshots: Path, tmp_path: Path
) -> None:
    live = live_server
    size = window.pages[0].viewport_size
    name = "desktop" if size is not None and size["width"] > 800 else "phone"
    page = window.new_page()
    errors: list[str] = []
    seed_and_sign_in(page, live)  # (the dashboard is another screen: errors counted from here)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(live.url + "ui/contacts/import")
    expect(page.locator("#upload-progress")).to_be_hidden()
    upload = tmp_path / "contacts.csv"
    upload.write_text(CSV, encoding="utf-8")
    page.set_input_files("#file", str(upload))
    page.click("form[action='/ui/contacts/import'] button.primary")
    expect(page.locator("#import-result")).to_be_visible()
    figures = page.locator("#import-outcome dd").all_inner_texts()
    assert figures[:3] == ["3", "0", "1"]  # imported, updated, rejected
    expect(page.locator("#import-outcome td").first).to_have_text("3")
    assert page.url == live.url + "ui/contacts/import"  # htmx: the page stayed
    assert serious_violations(page) == []
    shoot(page, screenshots, f"contacts-import-{name}")

    with page.expect_download() as info:
        page.click("a[download]")
    report = tmp_path / "report.csv"
    info.value.save_as(report)
    rows = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["row", "reason"] and rows[1][0] == "3"
    assert "=1+1" in rows[1][1] and not rows[1][1].startswith(("=", "+", "-", "@"))

    page.goto(live.url + "ui/segments")
    count = page.locator("#segment-count")
    page.select_option("#field-0", "language")
    page.fill("#value-0", "fr")
    expect(count).to_contain_text("2 contacts match")
    page.click("button[value='add']")
    page.select_option("#field-1", "first_name")
    page.select_option("#op-1", "startswith")
    page.fill("#value-1", "L")
    expect(count).to_contain_text("1 contacts match")
    assert serious_violations(page) == []
    shoot(page, screenshots, f"contacts-segment-{name}")
    page.fill("#segment-name", "French L")
    page.click("button.primary[value='save']")
    expect(page.locator(".notice")).to_have_text("Segment saved.")

    page.goto(live.url + "ui/campaigns/new")
    page.select_option("#start-from", label="Winter sale")
    expect(page.locator("#template")).to_have_value("Hello {{ contact.first_name }}, see you soon")
    expect(page.locator("input[name='type'][value='informational']")).to_be_checked()
    page.goto(live.url + "ui/messages")
    assert serious_violations(page) == []
    shoot(page, screenshots, f"contacts-library-{name}")
    assert errors == []  # no CSP refusal, no failed request
