"""A page link's tap answers the recipient's page in one round trip; bots get a card."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import col
from starlette.testclient import TestClient

from landing_templates.coupons.models import Coupon
from landing_templates.models import WheelSpin
from landing_templates.page_events import PageEvent
from richsms.db import session_scope
from shortener.models import Click, Link
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import add_contact, rich_blocks

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
WHATSAPP_UA = "WhatsApp/2.23.20.0 A"


def _page_link(api: TestClient, contact: int | None, page: int = 1) -> str:
    issued = api.post("/api/links", json={"page_id": page, "contact_id": contact})
    assert issued.status_code == 201, issued.text
    return str(issued.json()["code"])


def _publish(api: TestClient, clock: FrozenClock, language: str = "en") -> None:
    blocks = rich_blocks(clock.now())
    assert api.post("/api/pages", json={"name": "Winter sale", "language": language,
                                        "blocks": blocks}).status_code == 201
    assert api.post("/api/pages/1/publish").status_code == 200


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_tap_answers_the_personal_page_itself_after_storing_the_click(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    _publish(api, clock)
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    code = _page_link(api, contact)
    tap = api.get(f"/{code}", headers={"user-agent": PHONE_UA}, follow_redirects=False)
    assert tap.status_code == 200
    assert "Hello Ada" in tap.text
    assert _count(engine, Click) == 1
    assert tap.headers["cache-control"].startswith("private, no-store")
    assert tap.headers["referrer-policy"] == "no-referrer"
    nonce = re.search(r"'nonce-([^']+)'", tap.headers["content-security-policy"])
    assert nonce is not None
    scripts = re.findall(r"<script([^>]*)>", tap.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in s for s in scripts)
    codes = sorted(re.findall(r'class="cp-text">([A-Z]+-\d{6})<', tap.text))
    assert [c.split("-")[0] for c in codes] == ["NOEL", "QR", "SCR"]
    # The page's stable address shows the same page and the same codes, on every reload.
    token = re.search(r"/p/([\w-]+)/spin/", tap.text)
    assert token is not None
    again = api.get(f"/p/{token.group(1)}", headers={"user-agent": PHONE_UA})
    assert sorted(re.findall(r'class="cp-text">([A-Z]+-\d{6})<', again.text)) == codes
    assert _count(engine, Coupon) == 3


def test_bots_get_the_card_and_nothing_personal(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    _publish(api, clock)
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    code = _page_link(api, contact)
    card = api.get(f"/{code}", headers={"user-agent": WHATSAPP_UA})
    assert card.status_code == 200
    assert '<meta property="og:title" content="Winter sale">' in card.text
    assert 'og:description" content="Our winter sale is on.' in card.text
    assert "Ada" not in card.text and "NOEL-" not in card.text and "<script" not in card.text
    assert _count(engine, Coupon) == 0
    token = api.get(f"/{code}", headers={"user-agent": PHONE_UA}).text
    found = re.search(r"/p/([\w-]+)/spin/(\w+)", token)
    assert found is not None
    refused = api.post(f"/p/{found.group(1)}/spin/{found.group(2)}",
                       headers={"user-agent": WHATSAPP_UA})
    assert refused.status_code == 403
    assert _count(engine, WheelSpin) == 0


def test_the_wheel_is_drawn_once_and_the_same_everywhere(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    _publish(api, clock)
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    page = api.get(f"/{_page_link(api, contact)}", headers={"user-agent": PHONE_UA}).text
    found = re.search(r"/p/([\w-]+)/spin/(\w+)", page)
    assert found is not None
    url = f"/p/{found.group(1)}/spin/{found.group(2)}"
    first = api.post(url, headers={"user-agent": PHONE_UA}).json()
    for _ in range(3):
        assert api.post(url, headers={"user-agent": PHONE_UA}).json() == first
    reloaded = api.get(f"/p/{found.group(1)}", headers={"user-agent": PHONE_UA}).text
    assert f"<b>{first['label']}</b>" in reloaded
    assert url not in reloaded  # nothing left to spin
    assert _count(engine, WheelSpin) == 1
    assert (first["coupon"] is not None) == (first["label"] == "10%")


def test_both_addresses_of_a_page_are_one_view_of_its_link(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """`/{code}` and `/p/{token}` read the recipient, the token and the campaign from the
    link alike: a first view through the short link assigned its coupons to no campaign."""
    _publish(api, clock)
    group = api.post("/api/groups", json={"name": "Fans"}).json()["id"]
    campaign = api.post("/api/campaigns", json={
        "name": "Winter", "type": "promotional", "template": "Hi {{ link }}", "page_id": 1,
        "group_ids": [group],
    })
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    phone = {"user-agent": PHONE_UA}
    for n, first_way in enumerate(("code", "token")):
        contact = add_contact(engine, clock, first_name="Ada", phone=f"+3360000000{n}")
        issued = api.post("/api/links", json={
            "page_id": 1, "contact_id": contact, "campaign_id": campaign_id})
        assert issued.status_code == 201, issued.text
        code = issued.json()["code"]
        with session_scope(engine) as session:
            token = session.execute(
                select(col(Link.page_token)).where(col(Link.code) == code)
            ).scalar_one()
        ways = {"code": f"/{code}", "token": f"/p/{token}"}
        first = api.get(ways[first_way], headers=phone)
        second = api.get(ways["token" if first_way == "code" else "code"], headers=phone)
        assert first.status_code == second.status_code == 200
        shown = [sorted(re.findall(r'class="cp-text">([A-Z]+-\d{6})<', page.text))
                 for page in (first, second)]
        assert len(shown[0]) == 3 and shown[0] == shown[1]
        for page in (first, second):
            assert f'data-url="/p/{token}/spin/wh"' in page.text
        spin = api.post(f"/p/{token}/spin/wh", headers=phone)
        assert spin.status_code == 200
        copied = api.post(f"/p/{token}/events/coupon_copied/cp", headers=phone)
        assert copied.status_code == 204
        with session_scope(engine) as session:
            held = session.execute(
                select(col(Coupon.code), col(Coupon.campaign_id)).where(
                    col(Coupon.contact_id) == contact
                )
            ).all()
            events = session.execute(
                select(col(PageEvent.kind), col(PageEvent.campaign_id)).where(
                    col(PageEvent.contact_id) == contact
                )
            ).all()
        assert sorted(c for c, _ in held if c[:3] != "WIN") == shown[0]
        assert {campaign for _, campaign in held} == {campaign_id}
        assert sorted(events) == [("coupon_copied", campaign_id), ("wheel_spun", campaign_id)]


def test_a_sent_link_keeps_its_version_until_moved(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    _publish(api, clock)
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    code = _page_link(api, contact)
    blocks = api.get("/api/pages/1").json()["blocks"]
    blocks[0]["text"] = "Version two"
    api.put("/api/pages/1", json={"blocks": blocks})
    api.post("/api/pages/1/publish")
    assert "Hello Ada" in api.get(f"/{code}", headers={"user-agent": PHONE_UA}).text
    newer = _page_link(api, contact)
    assert "Version two" in api.get(f"/{newer}", headers={"user-agent": PHONE_UA}).text
    api.post("/api/pages/1/publish", json={"move_links": True})
    token = re.search(r"/p/([\w-]+)/spin/",
                      api.get(f"/{newer}", headers={"user-agent": PHONE_UA}).text)
    assert token is not None
    with session_scope(engine) as session:
        versions = session.execute(select(col(Link.page_version))).scalars().all()
    assert set(versions) == {2}


def test_unpublished_pages_and_expired_links_answer_clear_pages(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    _publish(api, clock, language="fr")
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001", language="fr")
    code = _page_link(api, contact)
    page = api.get(f"/{code}", headers={"user-agent": PHONE_UA}).text
    token = re.search(r"/p/([\w-]+)/spin/", page)
    assert token is not None
    api.post("/api/pages/1/unpublish")
    gone = api.get(f"/p/{token.group(1)}", headers={"user-agent": PHONE_UA})
    assert gone.status_code == 410
    assert "Page indisponible" in gone.text and "Ada" not in gone.text
    api.post("/api/pages/1/publish")
    expiring = api.post("/api/links", json={
        "page_id": 1, "contact_id": contact,
        "expires_at": (clock.now() + timedelta(hours=1)).isoformat()}).json()["code"]
    later = api.get(f"/{expiring}", headers={"user-agent": PHONE_UA}).text
    expiring_token = re.search(r"/p/([\w-]+)/spin/", later)
    assert expiring_token is not None
    clock.advance(timedelta(hours=2))
    expired = api.get(f"/p/{expiring_token.group(1)}", headers={"user-agent": PHONE_UA})
    assert expired.status_code == 410 and "Offre terminée" in expired.text
    assert api.get("/p/nope-nope-nope").status_code == 404


def test_an_expired_or_disabled_link_serves_nothing_by_any_way_in(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """One rule (`Target.gone`) for the short link, the page's address, its wheel and its
    events: page events of an expired or disabled link were recorded all the same."""
    _publish(api, clock)
    phone = {"user-agent": PHONE_UA}
    for n, end in enumerate(("expired", "disabled")):
        contact = add_contact(engine, clock, first_name="Ada", phone=f"+3360000000{n}")
        code = api.post("/api/links", json={
            "page_id": 1, "contact_id": contact,
            "expires_at": (clock.now() + timedelta(hours=1)).isoformat()}).json()["code"]
        found = re.search(r"/p/([\w-]+)/spin/", api.get(f"/{code}", headers=phone).text)
        assert found is not None
        token = found.group(1)
        if end == "expired":
            clock.advance(timedelta(hours=2))
            assert api.get(f"/{code}", headers=phone).status_code == 410
        else:
            assert api.post(f"/api/links/{code}/disable").status_code == 200
        assert api.get(f"/p/{token}", headers=phone).status_code == 410
        assert api.post(f"/p/{token}/spin/wh", headers=phone).status_code == 409
        refused = api.post(f"/p/{token}/events/coupon_copied/cp", headers=phone)
        assert refused.status_code == 409
    assert _count(engine, WheelSpin) == _count(engine, PageEvent) == 0


def test_a_page_link_needs_a_published_page(api: TestClient, clock: FrozenClock) -> None:
    api.post("/api/pages", json={"name": "S", "language": "en", "blocks": rich_blocks(clock.now())})
    refused = api.post("/api/links", json={"page_id": 1})
    assert refused.status_code == 409
    assert "publish" in refused.json()["error"]["message"]


def test_a_page_shows_what_changed_since_the_last_view(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    _publish(api, clock)
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    code = _page_link(api, contact)
    first = api.get(f"/{code}", headers={"user-agent": PHONE_UA})
    assert "Already used" not in first.text
    assert 'data-remaining="3600"' in first.text
    coupon = re.search(r'class="cp-text">(NOEL-\d{6})<', first.text)
    assert coupon is not None
    assert api.post(f"/api/coupons/{coupon.group(1)}/redeem", json={}).status_code == 200
    clock.advance(timedelta(seconds=90))
    again = api.get(f"/{code}", headers={"user-agent": PHONE_UA})
    assert again.text.count("Already used") == 1  # the redeemed code only
    assert 'data-remaining="3510"' in again.text
    # Compressed or not, the same page (only the per-response nonce differs).
    plain = api.get(f"/{code}", headers={"user-agent": PHONE_UA, "accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert again.headers["content-encoding"] == "gzip"
    nonce = re.compile(r"nonce-?=?\"?[\w-]{16,}")
    assert nonce.sub("", plain.text) == nonce.sub("", again.text)


def test_literal_markup_is_text_with_or_without_merge_fields(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    blocks = [
        {"type": "heading", "text": "<script>alert(1)</script>Hi {{ contact.first_name }}"},
        {"type": "text", "text": "<i>{% if contact.first_name %}x{% endif %}</i>"},
        {"type": "footer", "text": "<script>alert(2)</script>"},
    ]
    assert api.post("/api/pages", json={"name": "x", "language": "en",
                                        "blocks": blocks}).status_code == 201
    assert api.post("/api/pages/1/publish").status_code == 200
    contact = add_contact(engine, clock, first_name="<b>Ada</b>", phone="+33600000001")
    tap = api.get(f"/{_page_link(api, contact)}", headers={"user-agent": PHONE_UA})
    assert tap.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Hi &lt;b&gt;Ada&lt;/b&gt;" in tap.text
    assert "&lt;i&gt;x&lt;/i&gt;" in tap.text and "&lt;script&gt;alert(2)" in tap.text
    assert "alert(1)</script>" not in tap.text and "<i>" not in tap.text
