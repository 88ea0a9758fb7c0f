"""Issue 19's whole journey, as a French retail marketer walks it in chromium from an empty
database, on SQLite and PostgreSQL: import ten French and Québec contacts (one without
consent), put them in a group, build a page with every block (heading, text, countdown,
coupon, scratch card, wheel, button, footer, an uploaded image) and publish it; campaign A
is sent at 06:00 in Paris, so its summary says the quiet hours hold all of it, the chore
loop plans it, and it is cancelled (with its confirmation); campaign B, A duplicated and
renamed, leaves at 15:00 and the in-process worker hands it to the console provider. On a
phone: Zoé opens B's link from the simulator, scratches the card, spins the wheel and copies
her code; Hugo opens his and scratches; the cashier types Zoé's code on the staff page and
redeems it; Hugo replies STOP. The results screen, the dashboard and the stats API then show
B's exact figures (sent, clicks, one redemption, one opt-out, the page events per kind) and
A's zeros.

Time is the server's frozen clock, moved by the test; the worker and the chore loop run one
turn at a time in the test (tests/browser/conftest.py `hand_over`). Screenshots:
tests/artifacts/browser/marketer-NN-name.png.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from richsms.accounts import create_admin, create_token
from richsms.accounts.roles import Role
from richsms.db import session_scope
from tests.browser.conftest import (
    LiveServer,
    desktop_and_phone,
    figure,
    hand_over,
    import_csv,
    scratch_card,
    settled,
    shoot,
    sign_in,
    watch,
)

EMAIL = "claire@boutique.example"
CASHIER = "caisse@boutique.example"
PASSWORD = "correct horse battery staple"
# Ten rows: seven in France, three in Québec; Jules gave no consent (excluded from a
# promotional campaign).
CSV = (
    "prénom;nom;téléphone;langue;type de consentement;source\n"
    "Zoé;Moreau;+33612345610;fr;express;boutique\n"
    "Hugo;Dubois;+33612345603;fr;express;boutique\n"
    "Léa;Bernard;+33612345602;fr;express;boutique\n"
    "Camille;Martin;+33612345601;fr;express;boutique\n"
    "Lucas;Robert;+33612345605;fr;express;boutique\n"
    "Manon;Richard;+33612345606;fr;express;boutique\n"
    "Jules;Petit;+33612345607;fr;;\n"
    "Félix;Tremblay;+15145550101;fr;express;salon\n"
    "Florence;Gagnon;+15145550102;fr;express;salon\n"
    "Olivier;Roy;+14185550103;fr;express;salon\n"
)
PHONES = [line.split(";")[2] for line in CSV.splitlines()[1:]]
ZOE, HUGO = "+33612345610", "+33612345603"
BLOCKS = ("text", "countdown", "coupon", "scratch", "wheel", "button", "footer")
SHOP = "https://example.com/"  # the button's default link, answered by the test
A_SENT_AT = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 06:00 in Paris, 00:00 in Montréal
B_SENT_AT = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 15:00 in Paris, 09:00 in Montréal
PAGE_EVENTS = {"scratch_revealed": 2, "wheel_spun": 1, "coupon_copied": 1, "button_tapped": 0}


@pytest.fixture
def windows(tmp_path: Path) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    with desktop_and_phone(tmp_path, desktop_locale="fr-FR", phone_locale="fr-FR") as windows:
        yield windows


class Steps:
    def __init__(self, folder: Path, backend: str) -> None:
        self.folder, self.backend, self.count = folder, backend, 0

    def shoot(self, page: Page, name: str) -> None:
        self.count += 1
        shoot(page, self.folder, f"marketer-{self.backend}-{self.count:02d}-{name}")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (179, 38, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def api(live: LiveServer, token: str, path: str) -> Any:
    response = httpx.get(f"{live.url}api/{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def stats_once_landed(live: LiveServer, token: str, campaign_id: int) -> dict[str, Any]:
    """B's stats once the phone's beacons and the taps on links (stored by a background
    writer) have all landed; fails if they never do."""
    for _ in range(400):
        report: dict[str, Any] = api(live, token, f"campaigns/{campaign_id}/stats")
        engagement = report["engagement"]
        if (
            {kind: engagement["page_events"].get(kind, 0) for kind in PAGE_EVENTS} == PAGE_EVENTS
            and engagement["unique_clicks"] == 2
        ):
            return report
        time.sleep(0.05)
    raise AssertionError(f"the taps never all reached the stats: {engagement}")


def compose(page: Page, live: LiveServer, name: str) -> int:
    """A promotional campaign with the page, to the group: saved as a draft."""
    opened = page.goto(live.url + "ui/campaigns/new")
    assert opened is not None and opened.status == 200, opened and opened.text()[:2000]
    page.fill("#name", name)
    # The page is listed with its language ("Noël -20 % (fr)"): picked by its name.
    chosen = page.locator("#page_id option", has_text="Noël -20 %")
    page.select_option("#page_id", value=chosen.get_attribute("value"))
    page.check("input[name^='group-']")
    page.locator("#template").press_sequentially("{{ contact.first_name }}, -20 % à Noël : ")
    page.locator("button.insert[data-insert='{{ link }}']").click()
    expect(page.locator("#analysis")).to_contain_text("STOP")
    page.click("#composer button.primary[type='submit']")
    expect(page).to_have_url(re.compile(r"/ui/campaigns/\d+\?notice="))
    found = re.search(r"/ui/campaigns/(\d+)", page.url)
    assert found is not None
    return int(found.group(1))


def summary_then_send(page: Page, live: LiveServer, campaign_id: int) -> dict[str, str]:
    """"Envoyer" opens the summary; what it says, then the confirmation."""
    page.goto(f"{live.url}ui/campaigns/{campaign_id}")
    page.click("#send-campaign")
    expect(page.locator("#summary-title")).to_be_visible()
    said = {
        key: page.locator(f"#summary-{key}").inner_text().strip()
        for key in ("audience", "excluded", "recipients")
    }
    said["hold"] = (
        page.locator("#summary-hold").inner_text() if page.locator("#summary-hold").count() else ""
    )
    page.click("#confirm-send")
    expect(page.locator("h1 .tag")).not_to_have_text("brouillon")
    return said


def work(live: LiveServer) -> None:
    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
        pool.submit(hand_over, live).result(timeout=120)


def test_the_marketers_journey_counts_every_figure_on_the_right_campaign(
    live_server_each_backend: LiveServer, windows: tuple[BrowserContext, BrowserContext],
    screenshots: Path, database_url: str,
) -> None:  # fmt: skip
    steps = Steps(screenshots, "postgresql" if database_url.startswith("postgres") else "sqlite")
    live, (desktop, phone) = live_server_each_backend, windows
    live.clock.set(A_SENT_AT)
    with session_scope(live.engine) as session:  # `richsms user create`, `richsms token create`
        create_admin(session=session, email=EMAIL, password=PASSWORD, clock=live.clock)
        token = create_token(session=session, name="Rapports", clock=live.clock)
    errors: list[str] = []
    page = desktop.new_page()
    watch(page, errors)
    sign_in(page, live, EMAIL, PASSWORD)
    expect(page.locator("main")).to_contain_text("Aucune campagne")

    # Import: ten rows, ten contacts.
    import_csv(page, live, CSV, 10)
    steps.shoot(page, "imported")
    page.goto(live.url + "ui/groups")
    page.fill("#group-name", "Clients fidèles")
    page.click("form[action='/ui/groups'] button")
    page.fill("#phones", "\n".join(PHONES))
    page.click("form[action$='/members'] button")
    expect(page.locator("h1 .count")).to_contain_text("10")

    # The page: every block, the heading personalized, an uploaded image; published.
    page.goto(live.url + "ui/pages")
    page.fill("#page-name", "Noël -20 %")
    page.click("form[action='/ui/pages'] button")
    expect(page.locator("#page-title")).to_have_text("Noël -20 %")
    blocks = page.locator("#blocks > li")
    page.click(".add-block summary")
    page.click(".add-block button[value='heading']")
    expect(blocks).to_have_count(1)
    settled(page)
    blocks.nth(0).locator("input[name='text']").fill("Bonjour {{ contact.first_name }}")
    blocks.nth(0).locator(".block-form button.primary").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_contain_text("Bonjour")
    settled(page)
    for count, kind in enumerate(BLOCKS, start=2):
        page.click(".add-block summary")
        page.click(f".add-block button[value='{kind}']")
        expect(blocks).to_have_count(count)
        settled(page)
    page.set_input_files("#upload-image", {"name": "vitrine.png", "mimeType": "image/png",
                                           "buffer": png()})
    expect(blocks).to_have_count(len(BLOCKS) + 2)
    with page.expect_response(lambda r: r.url.endswith("/publish")):
        page.click("form[action$='/publish'] button.primary")
    expect(page.locator("form[action$='/publish'] button.primary")).to_be_disabled()
    steps.shoot(page, "page-published")

    # Campaign A at 06:00 in Paris: the summary says the quiet hours hold it all.
    campaign_a = compose(page, live, "Soldes A")
    said = summary_then_send(page, live, campaign_a)
    assert (said["audience"], said["excluded"], said["recipients"]) == ("10", "1", "9")
    assert said["hold"].startswith("9 ")
    work(live)  # planned (its coupons drawn), nothing leaves before 08:00
    page.goto(f"{live.url}ui/campaigns/{campaign_a}")
    expect(page.locator("#campaign-waiting")).to_contain_text("9 messages")
    steps.shoot(page, "a-held")
    page.click("#cancel-campaign")
    page.click("#confirm-cancel")
    expect(page.locator("h1 .tag")).to_have_text("annulée")
    steps.shoot(page, "a-cancelled")

    # Campaign B at 15:00 in Paris, A duplicated and renamed: it leaves at once, and is done.
    live.clock.set(B_SENT_AT)
    sign_in(page, live, EMAIL, PASSWORD)  # nine hours later: the 8-hour session has ended
    page.goto(f"{live.url}ui/campaigns/{campaign_a}")
    page.click("#duplicate-campaign")
    expect(page).to_have_url(re.compile(r"/ui/campaigns/\d+/edit"))
    expect(page.locator("#template")).to_have_value(re.compile("-20 % à Noël"))
    page.fill("#name", "Soldes B")
    page.click("#composer button.primary[type='submit']")
    expect(page).to_have_url(re.compile(r"/ui/campaigns/\d+\?notice="))
    expect(page.locator("h1")).to_contain_text("Soldes B")
    found = re.search(r"/ui/campaigns/(\d+)", page.url)
    assert found is not None
    campaign_b = int(found.group(1))
    said = summary_then_send(page, live, campaign_b)
    assert (said["audience"], said["excluded"], said["recipients"], said["hold"]) == (
        "10", "1", "9", "",
    )  # fmt: skip
    work(live)
    page.goto(f"{live.url}ui/campaigns/{campaign_b}")
    expect(page.locator("h1 .tag")).to_have_text("terminée")
    assert figure(page, "Envoyés") == "9"

    # The phone: Zoé taps B's link, scratches, spins and copies her code; Hugo scratches.
    phone.route(SHOP, lambda route: route.fulfill(body="<p>Boutique</p>",
                                                 content_type="text/html"))
    mobile = phone.new_page()
    watch(mobile, errors)
    sign_in(mobile, live, EMAIL, PASSWORD)
    codes = {}
    for who, taps in ((ZOE, ("scratch", "spin", "copy")), (HUGO, ("scratch",))):
        mobile.goto(f"{live.url}ui/simulator?phone={who.replace('+', '%2B')}")
        bubble = mobile.locator(".bubble.theirs").first
        expect(bubble).to_contain_text("-20 % à Noël")
        with phone.expect_page() as opened:
            bubble.locator("a").click()
        landing = opened.value
        watch(landing, errors)
        expect(landing.locator("h1")).to_contain_text("Bonjour")
        codes[who] = landing.locator(".cp .cp-text").first.inner_text().strip()
        if "scratch" in taps:
            scratch_card(landing)
            expect(landing.locator(".sc")).to_have_class(re.compile(r"\bdone\b"))
        if "spin" in taps:
            landing.locator(".wh-spin").click()
            expect(landing.locator(".wh-result")).not_to_be_empty(timeout=6000)
        if "copy" in taps:
            landing.locator(".cp .cp-copy").first.click()
        steps.shoot(landing, f"landing-{who[-2:]}")
        landing.reload()  # what was revealed stays revealed
        if "scratch" in taps:
            expect(landing.locator(".sc")).to_have_class(re.compile(r"\bdone\b"))
        landing.close()
    assert codes[ZOE] != codes[HUGO]

    # Hugo replies STOP.
    mobile.goto(f"{live.url}ui/simulator?phone={HUGO.replace('+', '%2B')}")
    mobile.fill("#reply-text", "STOP")
    mobile.click("form.reply button")
    expect(mobile.locator(".bubble.mine")).to_contain_text("STOP")

    # The till's phone: the cashier signs in (their role reaches the staff page only),
    # types Zoé's code and redeems it.
    with session_scope(live.engine) as session:  # `richsms user create --role cashier`
        create_admin(session=session, email=CASHIER, password=PASSWORD, clock=live.clock,
                     role=Role.CASHIER)
    phone.clear_cookies()
    staff = phone.new_page()
    staff.goto(f"{live.url}ui/signin?next=/r/")
    staff.fill("#email", CASHIER)
    staff.fill("#password", PASSWORD)
    staff.click("form[action^='/ui/signin'] button")
    expect(staff).to_have_url(f"{live.url}r/")
    staff.get_by_label("Code du coupon").fill(codes[ZOE])
    staff.get_by_role("button", name="Vérifier ce code").tap()
    expect(staff.locator("#offer")).to_contain_text("Soldes B")
    staff.get_by_role("button", name="Valider ce coupon").tap()
    expect(staff.locator("#state")).to_contain_text("Validé")
    steps.shoot(staff, "staff-redeemed")

    # The stats API: B's exact figures, A's zeros.
    b = stats_once_landed(live, token, campaign_b)
    assert (b["delivery"]["sent"], b["engagement"]["unique_clicks"]) == (9, 2)
    assert (b["engagement"]["redemptions"], b["engagement"]["opt_outs"]) == (1, 1)
    a = api(live, token, f"campaigns/{campaign_a}/stats")
    assert (a["delivery"]["sent"], a["engagement"]["unique_clicks"]) == (0, 0)
    assert (a["engagement"]["redemptions"], a["engagement"]["opt_outs"]) == (0, 0)
    assert not any(a["engagement"]["page_events"].values())

    # The results screen says the same.
    page.goto(f"{live.url}ui/campaigns/{campaign_b}")
    assert [figure(page, term) for term in
            ("Envoyés", "Clics uniques", "Utilisations", "Désabonnements")] == [
        "9", "2", "1", "1",
    ]  # fmt: skip
    shown = {kind: page.locator(f"[data-event='{kind}'] .count").inner_text()
             for kind in PAGE_EVENTS}
    assert shown == {kind: str(count) for kind, count in PAGE_EVENTS.items()}
    steps.shoot(page, "b-results")
    page.goto(live.url + "ui/")  # the dashboard leads with B's figures; A sent nothing
    latest = page.locator("#latest-figures + table tbody tr")
    expect(latest).to_have_count(1)
    cells = [cell.strip() for cell in latest.locator("td").all_inner_texts()]
    assert (cells[0], cells[3], cells[4]) == ("9", "1", "1")
    expect(latest.locator("th")).to_contain_text("Soldes B")
    page.goto(f"{live.url}ui/campaigns/{campaign_a}")
    assert [figure(page, term) for term in ("Envoyés", "Utilisations", "Désabonnements")] == [
        "0", "0", "0",
    ]  # fmt: skip
    assert {page.locator(f"[data-event='{kind}'] .count").inner_text()
            for kind in PAGE_EVENTS} == {"0"}
    assert errors == [], errors
