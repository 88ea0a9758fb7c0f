"""One signed-session and CSRF mechanism for the UI and the staff page (web/sessions.py)."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.settings import Settings
from tests.clock import FrozenClock
from tests.web.staff.test_staff_page import issue
from web.sessions import csrf_ok, csrf_token, decode_session, encode_session

SECRET = "s" * 40
NOW = 1_800_000_000


def test_a_session_signed_for_one_purpose_is_no_other() -> None:
    value = encode_session(SECRET, "ui-session", 7, NOW)
    ui = decode_session(SECRET, "ui-session", value, now=NOW + 10, lifetime=60)
    assert ui is not None and (ui.subject, ui.issued) == (7, NOW)
    assert decode_session(SECRET, "staff-session", value, now=NOW + 10, lifetime=60) is None
    assert decode_session("t" * 40, "ui-session", value, now=NOW + 10, lifetime=60) is None
    assert decode_session(SECRET, "ui-session", value, now=NOW + 60, lifetime=60) is None
    forged = value.replace("7.", "8.", 1)
    assert decode_session(SECRET, "ui-session", forged, now=NOW + 10, lifetime=60) is None


def test_a_csrf_token_holds_for_its_nonce_and_what_it_is_bound_to_while_fresh() -> None:
    sent = csrf_token(SECRET, "nonce", "redeem", "SHOP-1", issued=NOW)
    assert csrf_ok(SECRET, "nonce", sent, "redeem", "SHOP-1", now=NOW + 5, lifetime=60)
    assert not csrf_ok(SECRET, "other", sent, "redeem", "SHOP-1", now=NOW + 5, lifetime=60)
    assert not csrf_ok(SECRET, "nonce", sent, "redeem", "SHOP-2", now=NOW + 5, lifetime=60)
    assert not csrf_ok(SECRET, "nonce", sent, "signin", "SHOP-1", now=NOW + 5, lifetime=60)
    assert not csrf_ok(SECRET, "nonce", sent, "redeem", "SHOP-1", now=NOW + 60, lifetime=60)
    assert not csrf_ok(SECRET, "", sent, "redeem", "SHOP-1", now=NOW + 5, lifetime=60)


def test_outside_development_both_set_secure_cookies_even_over_http(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    """Behind a proxy that terminates TLS we see http; the browser's request was https.
    The staff page set its cookies Secure only when it saw https itself (the UI did
    outside development): one rule now."""
    from web.app import create_app

    code = issue(engine, clock)
    production = settings.replace(env="production")
    with TestClient(create_app(production, clock=clock)) as client:
        staff = client.get(f"/r/{code}").headers["set-cookie"]
        ui = client.get("/ui/signin").headers["set-cookie"]
    assert "richsms_csrf=" in staff and "; secure" in staff.lower()
    assert "richsms_anon=" in ui and "; secure" in ui.lower()
