"""The page builder in chromium: a marketer builds a page on a desktop window, inserts a
merge field, picks a contact of a group for the phone preview, moves a block with the
keyboard and back by dragging it, and sees the preview follow; the same builder on a
phone-sized window. Screenshots in tests/artifacts/browser/builder-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from richsms.accounts import create_admin
from richsms.db import session_scope
from sender.audience.contacts import create_contact
from sender.audience.groups import ContactRefs, add_members, create_group
from tests.browser.conftest import (
    LiveServer,
    desktop_and_phone,
    settled,
    shoot,
    sign_in,
    touch_drag,
)

PASSWORD = "correct horse battery staple"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"


@pytest.fixture
def windows(tmp_path: Path) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """A desktop window and a phone (touch, 390 px wide), from one Playwright."""
    with desktop_and_phone(
        tmp_path, desktop_locale="fr-FR", phone_locale="fr-FR"
    ) as windows:
        yield windows


def seed_marketer_and_group(live: LiveServer) -> None:
    with session_scope(live.engine) as session:
        create_admin(session=session, email="anne@shop.example", password=PASSWORD,
                     clock=live.clock)
        group = create_group(session=session, name="Clientes fidèles", clock=live.clock)
        ids = []
        for i, name in enumerate(("Zoé", "Léa")):
            contact = create_contact(session=session, clock=live.clock, phone=f"+3361234567{i}",
                                     region="FR", first_name=name, language="fr")
            ids.append(contact.id or 0)
        add_members(session=session, group_id=group.id or 0, clock=live.clock,
                    contacts=ContactRefs(region="FR", contact_ids=ids))


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious or critical WCAG A/AA violations (run through the DevTools
    protocol, which the page's CSP does not apply to)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});"
        " return {passes: r.passes.length, violations: r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))}; }"
    )
    assert result["passes"] > 5
    return list(result["violations"])


def block_names(page: Page) -> list[str]:
    return [n.strip() for n in page.locator("#blocks > li .block-name strong").all_inner_texts()]


def test_build_a_page_with_the_live_phone_preview(
    live_server: LiveServer,
    windows: tuple[BrowserContext, BrowserContext],
    screenshots: Path,
) -> None:
    live = live_server
    desktop, phone = windows
    seed_marketer_and_group(live)
    page = desktop.new_page()
    errors: list[str] = []
    sign_in(page, live, "anne@shop.example", PASSWORD)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.click("nav a[href='/ui/pages']")
    page.fill("#page-name", "Soldes d'hiver")
    page.click("form[action='/ui/pages'] button")
    expect(page.locator("#page-title")).to_have_text("Soldes d'hiver")

    # A heading, its text with the first name inserted from the merge fields.
    page.click(".add-block summary")
    page.click(".add-block button[value='heading']")
    heading = page.locator("#blocks > li").nth(0)
    expect(heading.locator("details")).to_have_attribute("open", "")
    field = heading.locator("input[name='text']")
    expect(field).to_be_focused()  # a new block: straight into its first field
    expect(page.locator("#builder-announce")).to_have_text("Bloc ajouté.")  # read out
    field.fill("Bonjour ")
    field.press("End")
    heading.locator("button[data-merge='{{ contact.first_name }}']").click()
    expect(field).to_have_value("Bonjour {{ contact.first_name }}")
    heading.locator(".block-form button.primary").click()
    expect(page.locator(".ws-status")).to_contain_text("Bloc enregistré")

    # A text block, then the preview as Zoé of the group.
    page.click(".add-block summary")
    page.click(".add-block button[value='text']")
    text = page.locator("#blocks > li").nth(1)
    text.locator("textarea[name='text']").fill("Tout à -50 % ce week-end.")
    text.locator(".block-form button.primary").click()
    expect(page.locator(".ws-status")).to_contain_text("Bloc enregistré")
    with page.expect_response(lambda r: "/contacts?audience=group-" in r.url):
        page.select_option("#audience", label="Groupe: Clientes fidèles (2)")
    page.select_option("#contact", index=1)
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("h1")).to_have_text("Bonjour Zoé")
    # The preview is sandboxed: its scripts run in an origin of their own, away from the UI.
    expect(page.locator("#preview-frame")).to_have_attribute("sandbox", "allow-scripts")
    handle = page.locator("#preview-frame").element_handle()
    preview = handle.content_frame() if handle is not None else None
    assert preview is not None
    assert preview.evaluate("() => window.origin") == "null"
    # The schema's error, next to its field.
    text.locator("textarea[name='text']").fill("")
    text.locator(".block-form button.primary").click()
    expect(page.locator(".field-error").first).to_be_visible()
    shoot(page, screenshots, "builder-desktop-error")
    page.locator("#blocks > li").nth(1).locator("textarea[name='text']").fill(
        "Tout à -50 % ce week-end."
    )
    page.locator("#blocks > li").nth(1).locator(".block-form button.primary").click()
    expect(page.locator(".ws-status")).to_contain_text("Bloc enregistré")

    # Keyboard: the heading moves down; the focus stays on its button; the preview follows.
    settled(page)
    down = page.locator("#blocks > li").nth(0).locator("button[value='down']")
    down.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#blocks > li").nth(1).locator(".block-name strong")).to_have_text("Titre")
    # The focus is put back once the swapped list has settled: wait for it, do not sample.
    page.wait_for_function(
        "() => { const id = document.activeElement && document.activeElement.id;"
        " return !!id && (id.startsWith('up-') || id.startsWith('down-')); }",
        timeout=10_000,
    )
    expect(frame.locator("h1")).to_have_text("Bonjour Zoé")
    order = preview.evaluate(
        "() => { const d = document;"
        " const h = d.querySelector('h1'); const p = [...d.querySelectorAll('p')]"
        ".find(e => e.textContent.includes('-50')); return h && p ?"
        " (p.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING ? 'text-first'"
        " : 'heading-first') : 'missing'; }"
    )
    assert order == "text-first"
    shoot(page, screenshots, "builder-desktop-moved")

    # Drag: the heading's handle back above the text.
    handle = page.locator("#blocks > li").nth(1).locator(".handle")
    target = page.locator("#blocks > li").nth(0)
    box_from, box_to = handle.bounding_box(), target.bounding_box()
    assert box_from is not None and box_to is not None
    page.mouse.move(box_from["x"] + box_from["width"] / 2, box_from["y"] + box_from["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box_from["x"] + 5, box_from["y"] - step * (box_from["y"] - box_to["y"] + 10)
                        / 10)
    page.mouse.up()
    expect(page.locator("#blocks > li").nth(0).locator(".block-name strong")).to_have_text("Titre")
    preview.wait_for_function(
        "() => { const d = document;"
        " const h = d && d.querySelector('h1'); const p = d && [...d.querySelectorAll('p')]"
        ".find(e => e.textContent.includes('-50')); return h && p &&"
        " (h.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING); }"
    )
    page.click("form[action$='/publish'] button")
    expect(page.locator(".ws-status")).to_contain_text("Page publiée")
    expect(page.locator(".versions")).to_contain_text("en ligne")
    shoot(page, screenshots, "builder-desktop")
    assert serious_violations(page) == []
    # No script error, nothing the CSP refused (the 422 is the refused empty text).
    assert [e for e in errors if "status of 422" not in e] == []

    # The same builder on a phone-sized window.
    small = phone.new_page()
    sign_in(small, live, "anne@shop.example", PASSWORD)
    small.goto(page.url)
    expect(small.frame_locator("#preview-frame").locator("h1")).to_have_text("Bonjour")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    shoot(small, screenshots, "builder-phone")
    assert serious_violations(small) == []


def test_every_block_type_in_the_builder_and_an_image_from_the_device(
    live_server: LiveServer,
    windows: tuple[BrowserContext, BrowserContext],
    screenshots: Path,
    tmp_path: Path,
) -> None:
    from PIL import Image

    from landing_templates.pages import create_page
    from tests.landing_templates.pagekit import rich_blocks

    live = live_server
    seed_marketer_and_group(live)
    with session_scope(live.engine) as session:
        created = create_page(session=session, clock=live.clock, name="Winter sale",
                              language="en", blocks=rich_blocks(live.clock.now()))
        page_id = created.page.id
    desktop, phone = windows
    page = desktop.new_page()
    errors: list[str] = []
    sign_in(page, live, "anne@shop.example", PASSWORD)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live.url}ui/pages/{page_id}")
    assert len(block_names(page)) == 9
    wheel = page.locator("#blocks > li").nth(6)
    wheel.locator("summary").click()
    expect(wheel.locator("input[name='prizes.3.label']")).to_be_visible()  # room for one more
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator(".sc")).to_have_count(1)
    picture = tmp_path / "coat.png"
    Image.new("RGB", (400, 300), (180, 20, 50)).save(picture)
    with page.expect_response(lambda r: r.url.endswith("/images")):
        page.click(".add-block summary")
        page.set_input_files("#upload-image", str(picture))
    expect(page.locator(".ws-status")).to_contain_text("Bloc ajouté")
    assert len(block_names(page)) == 10
    expect(frame.locator("img")).to_have_count(1)
    shoot(page, screenshots, "builder-desktop-every-block")
    assert serious_violations(page) == []
    assert errors == []
    small = phone.new_page()
    sign_in(small, live, "anne@shop.example", PASSWORD)
    small.goto(f"{live.url}ui/pages/{page_id}")
    # A finger drags the text block above the heading.
    names = block_names(small)
    grip = small.locator("#blocks > li").nth(1).locator(".handle").bounding_box()
    top = small.locator("#blocks > li").nth(0).bounding_box()
    assert grip is not None and top is not None
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    touch_drag(small, [(x, y)] + [(x, y - (y - top["y"] - 5) * i / 12) for i in range(1, 13)])
    expect(small.locator("#blocks > li").nth(0).locator(".block-name strong")).to_have_text(
        names[1]
    )
    assert block_names(small)[:2] == [names[1], names[0]]
    small.locator("#blocks > li").nth(6).locator("summary").click()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(small, screenshots, "builder-phone-every-block")
