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
