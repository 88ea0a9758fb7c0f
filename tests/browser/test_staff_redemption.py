"""The staff redemption page in chromium on a phone: sign in once with a token, redeem
with one button, and a second attempt (another tab opened before) is refused."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import BrowserContext, Page

from landing_templates.coupons import assign_coupon
from richsms.accounts import create_token
from richsms.db import session_scope
from tests.browser.conftest import LiveServer, shoot

AXE = Path(__file__).with_name("vendor") / "axe.min.js"


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's WCAG A/AA violations on the page (evaluated through the DevTools
    protocol, which the page's strict CSP does not apply to)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']});"
        " return {passes: r.passes.length,"
        " violations: r.violations.map(v => v.id + ': ' + v.nodes.length)}; }"
    )
    assert result["passes"] > 5  # axe really looked at the page
    return list(result["violations"])


def test_a_coupon_is_redeemed_once_from_the_staff_page(
    live_server: LiveServer, phone: BrowserContext, screenshots: Path
) -> None:
    live = live_server
    with session_scope(live.engine) as session:
        token = create_token(session=session, name="Caisse 2", clock=live.clock)
    with session_scope(live.engine) as session:
        code = assign_coupon(
            session=session,
            clock=live.clock,
            page_id=1,
            block_id="coupon",
            contact_id=1,
            source="generate",
            pattern="NOEL-######",
            pool_id=None,
        ).code
    staff_url = f"{live.url}r/{code}"

    page = phone.new_page()
    response = page.goto(staff_url)
    assert response is not None and response.status == 200
    assert page.get_by_text("Connexion du personnel").is_visible()
    shoot(page, screenshots, "staff-sign-in")
    assert accessibility_violations(page) == []
    page.get_by_label("Jeton du personnel").fill(token)
    page.get_by_role("button", name="Se connecter").tap()
    page.get_by_text("Valide — pas encore utilisé").wait_for()
    assert page.get_by_text("Connecté en tant que Caisse 2").is_visible()
    shoot(page, screenshots, "staff-valid")
    assert accessibility_violations(page) == []

    # A colleague opened the same coupon in another tab before it was redeemed.
    other = phone.new_page()
    other.goto(staff_url)
    other.get_by_text("Valide — pas encore utilisé").wait_for()

    page.get_by_label("Magasin ou caisse (facultatif)").fill("Lyon, caisse 2")
    with page.expect_response(staff_url) as first:
        page.get_by_role("button", name="Valider ce coupon").tap()
    assert first.value.status == 200
    page.get_by_text("Validé — remettez l’offre au client").wait_for()
    assert "par Caisse 2 à Lyon, caisse 2" in page.inner_text("#state")
    shoot(page, screenshots, "staff-redeemed")

    with other.expect_response(staff_url) as second:
        other.get_by_role("button", name="Valider ce coupon").tap()
    assert second.value.status == 409
    assert other.get_by_role("alert").inner_text() == "Refusé : ce coupon a déjà été utilisé."
    assert other.get_by_text("Déjà utilisé").is_visible()
    shoot(other, screenshots, "staff-refused")
    assert accessibility_violations(other) == []

    # Reloading the page shows the state and offers no button.
    page.goto(staff_url)
    assert page.get_by_role("button", name="Valider ce coupon").count() == 0


# Chromium's BarcodeDetector exists on Android, macOS and ChromeOS, not on Linux: a
# stand-in that reads whatever the camera shows as the given staff address (the camera
# itself is chromium's fake one).
FAKE_DETECTOR = """window.BarcodeDetector = class {
  constructor(options) { this.formats = options.formats; }
  detect(source) {
    return Promise.resolve(source.videoWidth ? [{rawValue: window.SCANNED, format: "qr_code"}]
                                             : []);
  }
};"""


def test_a_typed_code_shows_its_offer_and_campaign_then_a_scan_opens_the_next(
    live_server: LiveServer, screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from landing_templates.pages import create_page, publish_page
    from sender.campaigns.models import Campaign
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE_UA

    live = live_server
    now = live.clock.now()
    with session_scope(live.engine) as session:
        token = create_token(session=session, name="Caisse 1", clock=live.clock)
        create_page(session=session, clock=live.clock, name="Noël en boutique", language="fr",
                    blocks=[{"id": "coupon", "type": "coupon", "source": "generate",
                             "pattern": "NOEL-######", "label": "-20 % sur tout le magasin"}])
        publish_page(session=session, clock=live.clock, page_id=1)
        session.add(Campaign(name="Soldes de Noël", type="promotional", status="done",
                             template="x", page_id=1, created_at=now, updated_at=now))
    with session_scope(live.engine) as session:
        typed, scanned = (
            assign_coupon(session=session, clock=live.clock, page_id=1, block_id="coupon",
                          contact_id=contact, source="generate", pattern="NOEL-######",
                          pool_id=None, campaign_id=1).code
            for contact in (1, 2)
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "staff"), executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream"],
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
            has_touch=True, user_agent=PHONE_UA, locale="fr-FR",
            permissions=["camera"],
        )
        try:
            page = context.new_page()
            page.goto(f"{live.url}r/")
            page.get_by_label("Jeton du personnel").fill(token)
            page.get_by_role("button", name="Se connecter").tap()
            expect(page.get_by_role("heading", name="Vérifier un coupon")).to_be_visible()
            detector = page.evaluate("'BarcodeDetector' in window")
            expect(page.locator("#scan")).to_be_visible() if detector else expect(
                page.locator("#scan")).to_be_hidden()
            assert accessibility_violations(page) == []
            page.get_by_label("Code du coupon").fill(typed)
            page.get_by_role("button", name="Vérifier ce code").tap()
            expect(page).to_have_url(f"{live.url}r/{typed}")
            offer = page.locator("#offer")
            expect(offer).to_contain_text("-20 % sur tout le magasin")
            expect(offer).to_contain_text("Noël en boutique")
            expect(offer).to_contain_text("Soldes de Noël")
            expect(page.locator("#state")).to_have_text("Valide — pas encore utilisé")
            shoot(page, screenshots, "staff-typed-code")
            page.get_by_role("button", name="Valider ce coupon").tap()
            expect(page.locator("#state")).to_contain_text("Validé — remettez l’offre au client")
            expect(page.locator("#offer")).to_contain_text("Soldes de Noël")
            assert accessibility_violations(page) == []

            # Where the browser has a detector, the camera reads the next coupon's QR code.
            scanner = context.new_page()
            scanner.add_init_script(FAKE_DETECTOR)
            scanner.add_init_script(f"window.SCANNED = {f'{live.url}r/{scanned}'!r};")
            scanner.goto(f"{live.url}r/{typed}")
            scanner.get_by_role("button", name="Scanner avec l’appareil photo").tap()
            expect(scanner).to_have_url(f"{live.url}r/{scanned}", timeout=10_000)
            expect(scanner.locator("#state")).to_have_text("Valide — pas encore utilisé")
            shoot(scanner, screenshots, "staff-scanned-code")
        finally:
            context.close()
