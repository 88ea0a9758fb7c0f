"""Page events from the blocks' scripts: counted once per recipient, block and kind, only
on blocks the page has, never for automated clients; each for the campaign and link that
carried the page, whichever address opened it; a scratched card stays scratched."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select
from sqlmodel import col
from starlette.testclient import TestClient

from landing_templates.links import link_by_token
from landing_templates.page_events import PageEvent
from richsms.db import read_session
from shortener.models import Link
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import add_contact, rich_blocks

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"


def token_for(api: TestClient, engine: Engine, clock: FrozenClock) -> str:
    assert api.post(
        "/api/pages", json={"name": "Sale", "language": "en", "blocks": rich_blocks(clock.now())}
    ).status_code == 201
    assert api.post("/api/pages/1/publish").status_code == 200
    contact = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    code = api.post("/api/links", json={"page_id": 1, "contact_id": contact}).json()["code"]
    with read_session(engine) as session:
        token = session.execute(select(Link.page_token).where(Link.code == code)).scalar_one()
    assert token is not None
    return str(token)


def events(engine: Engine) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        return [(e.kind, e.block_id) for e in session.execute(select(PageEvent)).scalars()]


def test_a_scratch_and_a_copy_are_recorded_once(
    client: TestClient, api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    token = token_for(api, engine, clock)
    headers = {"user-agent": PHONE_UA}
    for _ in range(3):
        reveal = client.post(f"/p/{token}/events/scratch_revealed/sc", headers=headers)
        assert reveal.status_code == 204
    assert client.post(f"/p/{token}/events/coupon_copied/cp", headers=headers).status_code == 204
    assert sorted(events(engine)) == [("coupon_copied", "cp"), ("scratch_revealed", "sc")]
    with read_session(engine) as session:
        assert link_by_token(session=session, token=token).page_id == 1


def test_what_the_page_does_not_have_is_refused_and_bots_are_ignored(
    client: TestClient, api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    token = token_for(api, engine, clock)
    headers = {"user-agent": PHONE_UA}
    assert client.post(f"/p/{token}/events/scratch_revealed/cp", headers=headers).status_code == 404
    assert client.post(f"/p/{token}/events/scratch_revealed/zz", headers=headers).status_code == 404
    assert client.post(f"/p/{token}/events/wheel_spun/wh", headers=headers).status_code == 422
    assert client.post(f"/p/{'x' * 30}/events/coupon_copied/cp", headers=headers).status_code == 404
    bot = {"user-agent": "WhatsApp/2.23.20.0 A"}
    assert client.post(f"/p/{token}/events/coupon_copied/cp", headers=bot).status_code == 204
    assert events(engine) == []


def test_the_page_tells_its_scripts_where_to_report_and_previews_report_nowhere(
    client: TestClient, api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    token = token_for(api, engine, clock)
    page = client.get(f"/p/{token}", headers={"user-agent": PHONE_UA}).text
    assert f'data-events="/p/{token}/events/"' in page
    assert "navigator.sendBeacon" in page and 'rsEvent("scratch_revealed"' in page
    button = re.search(r'<a class="blk btn" data-block="([\w-]+)"', page)
    assert button is not None
    tapped = client.post(f"/p/{token}/events/button_tapped/{button.group(1)}",
                         headers={"user-agent": PHONE_UA})
    assert tapped.status_code == 204
    wrong = client.post(f"/p/{token}/events/button_tapped/cp", headers={"user-agent": PHONE_UA})
    assert wrong.status_code == 404  # a coupon is not a button
    assert events(engine) == [("button_tapped", button.group(1))]
    preview = api.get("/api/pages/1/preview")
    assert preview.status_code == 200
    assert 'data-events=""' in preview.text and "/p/" not in preview.text


def test_a_revealed_card_stays_revealed_by_either_address(
    client: TestClient, api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    token = token_for(api, engine, clock)
    with read_session(engine) as session:
        code = session.execute(select(Link.code).where(Link.page_token == token)).scalar_one()
    phone = {"user-agent": PHONE_UA}
    for address in (f"/{code}", f"/p/{token}"):  # each fills the fragment cache unscratched
        page = client.get(address, headers=phone).text
        assert '<div class="blk sc" data-block="sc"' in page and "sc-layer" in page
    assert client.post(f"/p/{token}/events/scratch_revealed/sc", headers=phone).status_code == 204
    for address in (f"/{code}", f"/p/{token}"):
        body = client.get(address, headers=phone).text.split("<main>", 1)[1].split("<script")[0]
        assert '<div class="blk sc done" data-block="sc"' in body
        assert "sc-layer" not in body and "sc-reveal" not in body
        prize = body.split('class="sc-prize"', 1)[1]
        assert prize.startswith(">")  # neither hidden nor inert any more
    other = add_contact(engine, clock, first_name="Bob", phone="+33600000002")
    bob = api.post("/api/links", json={"page_id": 1, "contact_id": other}).json()["code"]
    assert '<div class="blk sc" data-block="sc"' in client.get(f"/{bob}", headers=phone).text


def test_events_belong_to_the_link_that_carried_the_page(
    client: TestClient, api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """The spin is recorded by the spin itself, once; every event names its campaign and
    link (a unitary message's link is its own: `message.link_id`)."""
    token = token_for(api, engine, clock)
    phone = {"user-agent": PHONE_UA}
    for _ in range(3):
        assert client.post(f"/p/{token}/spin/wh", headers=phone).status_code == 200
    assert client.post(f"/p/{token}/events/coupon_copied/wh", headers=phone).status_code == 204
    with read_session(engine) as session:
        link_id = session.execute(select(Link.id).where(Link.page_token == token)).scalar_one()
        rows = session.execute(
            select(col(PageEvent.kind), col(PageEvent.link_id), col(PageEvent.campaign_id))
        ).all()
    assert sorted(rows) == [("coupon_copied", link_id, None), ("wheel_spun", link_id, None)]
