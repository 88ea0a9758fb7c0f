"""The staff redemption page /r/{code}: token sign-in, CSRF-protected one-button
redemption, state in French or English, GET never redeems, POSTs rate-limited."""

from __future__ import annotations

import re

from sqlalchemy import Engine
from starlette.testclient import TestClient

from landing_templates.coupons import assign_coupon
from richsms.accounts import ApiToken
from richsms.db import session_scope
from tests.clock import FrozenClock

FORM = {"content-type": "application/x-www-form-urlencoded"}


def issue(engine: Engine, clock: FrozenClock, contact_id: int = 1) -> str:
    with session_scope(engine) as session:
        return assign_coupon(
            session=session,
            clock=clock,
            page_id=1,
            block_id="coupon",
            contact_id=contact_id,
            source="generate",
            pattern="SHOP-######",
            pool_id=None,
        ).code


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, code: str, token: str) -> str:
    """Signs in through the page's form; the page it lands on (HTML)."""
    page = client.get(f"/r/{code}")
    response = client.post(
        f"/r/{code}", data={"action": "signin", "csrf": csrf(page.text), "token": token}
    )
    assert response.status_code == 200, response.text  # after the 303 back to the page
    return response.text


def state(client: TestClient, token: str, code: str) -> str:
    response = client.get(f"/api/coupons/{code}", headers={"Authorization": f"Bearer {token}"})
    result: str = response.json()["state"]
    return result


def test_signed_out_staff_see_a_sign_in_form_and_no_coupon_state(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    code = issue(engine, clock)
    page = client.get(f"/r/{code}")
    assert page.status_code == 200
    assert "Staff sign-in" in page.text and code in page.text
    assert "Valid" not in page.text and "Redeem" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    wrong = client.post(
        f"/r/{code}", data={"action": "signin", "csrf": csrf(page.text), "token": "rs_guess"}
    )
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert state(client, token, code) == "valid"


def test_sign_in_then_one_button_redeems_once(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    code = issue(engine, clock)
    page = client.get(f"/r/{code}")
    signed = client.post(
        f"/r/{code}",
        data={"action": "signin", "csrf": csrf(page.text), "token": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == f"/r/{code}"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/r/" in cookie
    assert token not in signed.headers["set-cookie"]  # a signed session, not the token
    page = client.get(f"/r/{code}")
    assert "Valid — not redeemed yet" in page.text and "Redeem this coupon" in page.text
    assert "Signed in as tests" in page.text
    for _ in range(3):  # opening, reloading, scanning: nothing changes
        client.get(f"/r/{code}")
    assert state(client, token, code) == "valid"
    form_token = csrf(page.text)
    done = client.post(
        f"/r/{code}", data={"action": "redeem", "csrf": form_token, "location": "Till 3"}
    )
    assert done.status_code == 200
    assert "Redeemed — give the customer their offer" in done.text
    assert "by tests at Till 3" in done.text
    assert "11/24/26, 1:00\u202fPM" in done.text  # 12:00 UTC, in the account's Paris time
    again = client.post(f"/r/{code}", data={"action": "redeem", "csrf": form_token})
    assert again.status_code == 409
    assert "Refused: this coupon was already redeemed." in again.text
    assert "Already redeemed" in client.get(f"/r/{code}").text
    api = client.get(f"/api/coupons/{code}", headers={"Authorization": f"Bearer {token}"})
    assert api.json()["redeemed_by"] == "tests" and api.json()["redeemed_location"] == "Till 3"


def test_forged_posts_are_refused(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    code, other = issue(engine, clock, 1), issue(engine, clock, 2)
    sign_in(client, code, token)
    other_token = csrf(client.get(f"/r/{other}").text)
    # No token; a token for another coupon; a token for another action; garbage.
    for data in (
        {"action": "redeem"},
        {"action": "redeem", "csrf": other_token},
        {"action": "signin", "csrf": other_token, "token": token},
        {"action": "redeem", "csrf": "1.deadbeef"},
    ):
        refused = client.post(f"/r/{code}", data=data)
        assert refused.status_code == 403, data
        assert "did not come from this page" in refused.text
    # A valid form token without the browser's own CSRF cookie (a cross-site POST).
    form_token = csrf(client.get(f"/r/{code}").text)
    client.cookies.delete("richsms_csrf", path="/r/")
    cross_site = client.post(f"/r/{code}", data={"action": "redeem", "csrf": form_token})
    assert cross_site.status_code == 403
    # JSON or multipart instead of the form
    assert client.post(f"/r/{code}", json={"action": "redeem"}).status_code == 415
    assert state(client, token, code) == "valid"


def test_redeeming_needs_a_signed_in_session(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    code = issue(engine, clock)
    form_token = csrf(client.get(f"/r/{code}").text)  # the sign-in form's token
    refused = client.post(f"/r/{code}", data={"action": "redeem", "csrf": form_token})
    assert refused.status_code == 403
    sign_in(client, code, token)
    form_token = csrf(client.get(f"/r/{code}").text)
    with session_scope(engine) as session:
        revoked = session.get(ApiToken, 1)
        assert revoked is not None
        revoked.revoked_at = clock.now()
    after = client.post(f"/r/{code}", data={"action": "redeem", "csrf": form_token})
    assert after.status_code == 401 and "Staff sign-in" in after.text
    with session_scope(engine) as session:
        token_row = session.get(ApiToken, 1)
        assert token_row is not None
        token_row.revoked_at = None
    assert state(client, token, code) == "valid"


def test_french_staff_and_unknown_coupons(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    code = issue(engine, clock)
    client.headers["Accept-Language"] = "fr-FR,fr;q=0.9,en;q=0.8"
    page = client.get(f"/r/{code}")
    assert '<html lang="fr">' in page.text and "Connexion du personnel" in page.text
    sign_in(client, code, token)
    page = client.get(f"/r/{code}")
    assert "Valide — pas encore utilisé" in page.text and "Valider ce coupon" in page.text
    client.post(f"/r/{code}", data={"action": "redeem", "csrf": csrf(page.text)})
    assert "Déjà utilisé" in client.get(f"/r/{code}").text
    unknown = client.get("/r/SHOP-NOPE")
    assert unknown.status_code == 404 and "Coupon inconnu" in unknown.text
    client.headers["Accept-Language"] = "de-DE,en;q=0.5"
    assert "Unknown coupon" in client.get("/r/SHOP-NOPE").text


def test_markup_in_a_path_is_shown_as_text(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    sign_in(client, issue(engine, clock), token)
    page = client.get("/r/%3Cscript%3Ealert(1)%3C")
    assert page.status_code == 404
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text


def test_posts_are_rate_limited_per_client(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    code = issue(engine, clock)
    form_token = csrf(client.get(f"/r/{code}").text)
    # A forwarded address from a proxy nobody trusts changes nothing.
    statuses = [
        client.post(
            f"/r/{code}",
            data={"action": "signin", "csrf": form_token, "token": "rs_x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        ).status_code
        for i in range(31)
    ]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert "Too many attempts" in client.post(f"/r/{code}", data={}).text


def test_the_staff_page_says_what_a_code_is_for_and_takes_the_next_code(
    client: TestClient, engine: Engine, clock: FrozenClock, token: str
) -> None:
    """The offer (the coupon block's label, the wheel's prize won), the page, the campaign
    and the state; a box for the next code, typed (or scanned: its script, by nonce)."""
    from landing_templates.models import WheelSpin
    from landing_templates.page_events import PageEvent  # noqa: F401  (the tables exist)
    from landing_templates.pages import create_page, publish_page
    from sender.campaigns.models import Campaign

    now = clock.now()
    with session_scope(engine) as session:
        page = create_page(session=session, clock=clock, name="Noël en boutique", language="fr",
                           blocks=[
                               {"id": "coupon", "type": "coupon", "source": "generate",
                                "pattern": "SHOP-######", "label": "-20 % sur tout"},
                               {"id": "wh", "type": "wheel", "prizes": [
                                   {"label": "Café offert", "weight": 1, "coupon": True},
                                   {"label": "Perdu", "weight": 1, "text": "Dommage"}],
                                "coupon": {"source": "generate", "pattern": "CAFE-######"}},
                           ])
        publish_page(session=session, clock=clock, page_id=1)
        session.add(Campaign(name="Soldes de Noël", type="promotional", status="done",
                             template="x", page_id=1, created_at=now, updated_at=now))
    with session_scope(engine) as session:
        code = assign_coupon(session=session, clock=clock, page_id=1, block_id="coupon",
                             contact_id=1, source="generate", pattern="SHOP-######",
                             pool_id=None, campaign_id=1).code
        won = assign_coupon(session=session, clock=clock, page_id=1, block_id="wh",
                            contact_id=1, source="generate", pattern="CAFE-######",
                            pool_id=None).code
        session.add(WheelSpin(page_id=1, block_id="wh", contact_id=1, prize_index=0,
                              label="Café offert", coupon_code=won, spun_at=now))
    assert page.page.id == 1
    home = client.get("/r/")
    assert home.status_code == 200 and "Staff sign-in" in home.text
    signed = client.post("/r/", data={"action": "signin", "csrf": csrf(home.text),
                                      "token": token}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/r/"
    home = client.get("/r/")
    assert "Check a coupon" in home.text and 'id="code-box"' in home.text
    assert "Valid" not in home.text and "Unknown coupon" not in home.text
    typed = client.get("/r/", params={"code": f"  {code} "}, follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"] == f"/r/{code}"
    shown = client.get(typed.headers["location"])
    offer = shown.text.split('id="offer"', 1)[1].split("</dl>", 1)[0]
    assert "-20 % sur tout" in offer and "Noël en boutique" in offer
    assert "Soldes de Noël" in offer
    assert "Valid — not redeemed yet" in shown.text and 'action="/r/"' in shown.text
    nonce = re.search(r"script-src 'nonce-([^']+)'", shown.headers["content-security-policy"])
    assert nonce is not None and f'<script nonce="{nonce.group(1)}">' in shown.text
    assert "BarcodeDetector" in shown.text
    prize = client.get(f"/r/{won}").text.split('id="offer"', 1)[1].split("</dl>", 1)[0]
    assert "Café offert" in prize and "No campaign" in prize
    assert client.get("/r/", params={"code": "NOPE-000000"}).status_code == 404
    redeem = client.post("/r/", data={"action": "redeem", "csrf": "1.x"})
    assert redeem.status_code == 403  # there is nothing to redeem on the page with no code
