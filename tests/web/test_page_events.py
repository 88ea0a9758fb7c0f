"""Page events from the blocks' scripts: counted once per recipient, block and kind, only
on blocks the page has, never for automated clients."""

from __future__ import annotations

from sqlalchemy import Engine, select
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
