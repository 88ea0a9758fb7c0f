"""Event retention: clicks and page events spread over two years, older ones folded into
rollups and deleted, and every figure the results show the same before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import col
from starlette.testclient import TestClient

from landing_templates.page_events import PageEvent
from richsms.db import read_session, session_scope
from richsms.settings import Settings
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from sender.results.click_minutes import CampaignClickMinute
from sender.results.retention import prune_events, retention_cutoff
from shortener.click_days import ClickDay, delete_clicks, fold_clicks
from shortener.models import Click, Link
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import add_contact, rich_blocks

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile"
PREVIEW = "facebookexternalhit/1.1"
START = datetime(2024, 11, 24, 12, 0, 0, 500_000, tzinfo=UTC)
NOW = START + timedelta(days=730)
_SEGMENTS = count()

# Each recipient's taps, as time after the campaign's first message left (a preview
# fetcher's first): in the first hour, later that day, months later, and near "now".
TAPS: list[list[timedelta]] = [
    [timedelta(seconds=40), timedelta(minutes=3), timedelta(days=700)],
    [timedelta(minutes=59, seconds=59), timedelta(hours=5), timedelta(days=200)],
    [timedelta(days=400), timedelta(days=729)],
    [timedelta(hours=30), timedelta(days=334, hours=11, minutes=59)],
    [],
]
# Page events: (recipient, kind, block, when after the start).
EVENTS = [
    (0, "scratch_revealed", "sc", timedelta(minutes=4)),
    (1, "scratch_revealed", "sc", timedelta(hours=6)),
    (1, "coupon_copied", "cp", timedelta(hours=6, minutes=1)),
    (2, "coupon_copied", "cp", timedelta(days=401)),
    (3, "button_tapped", "bt", timedelta(days=30)),
]


def _campaign(api: TestClient, engine: Engine, clock: FrozenClock) -> tuple[int, list[str]]:
    """A sent campaign of five recipients, each with their page link; the codes."""
    clock.set(START)
    blocks = rich_blocks(clock.now())
    blocks.append({"id": "bt", "type": "button", "label": "Shop", "href": "https://ex.co/s"})
    page = api.post("/api/pages", json={"name": "Sale", "language": "en", "blocks": blocks})
    assert page.status_code == 201, page.text
    assert api.post("/api/pages/1/publish").status_code == 200
    with session_scope(engine) as session:
        campaign = Campaign(name="Winter", type="promotional", status="sending", template="x",
                            created_at=START, updated_at=START)  # fmt: skip
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        campaign_id = campaign.id
    codes = []
    for i in range(len(TAPS)):
        contact = add_contact(engine, clock, first_name=f"P{i}", phone=f"+3361234567{i}")
        link = api.post("/api/links", json={"page_id": 1, "contact_id": contact})
        assert link.status_code == 201, link.text
        code = link.json()["code"]
        codes.append(code)
        with session_scope(engine) as session:
            link_id = session.execute(select(Link.id).where(Link.code == code)).scalar_one()
            ours = update(Link).where(col(Link.id) == link_id).values(campaign_id=campaign_id)
            session.execute(ours)
            session.add(
                Message(campaign_id=campaign_id, contact_id=contact, phone=f"+3361234567{i}",
                        type="promotional", text="x", segments=1, link_id=link_id,
                        state="delivered", due_at=START, planned_at=START,
                        sent_at=START + timedelta(seconds=i),
                        delivered_at=START + timedelta(seconds=5 + i))  # fmt: skip
            )
    return campaign_id, codes


def _token(engine: Engine, code: str) -> str:
    with read_session(engine) as session:
        token = session.execute(select(Link.page_token).where(Link.code == code)).scalar_one()
    assert token is not None
    return str(token)


def _two_years(api: TestClient, engine: Engine, clock: FrozenClock) -> tuple[int, list[str], str]:
    """The campaign's taps and page events over two years, and a link to a shop (no
    recipient: unique visitors by day) tapped on many days; the shop link's code."""
    campaign_id, codes = _campaign(api, engine, clock)
    shop = api.post("/api/links", json={"url": "https://shop.example/sale"}).json()["code"]
    moments: list[tuple[timedelta, str, str, str]] = []  # (when, method, path, agent)
    for i, taps in enumerate(TAPS):
        for j, after in enumerate(taps):
            moments.append((after, "GET", f"/{codes[i]}", IPHONE if j % 2 else ANDROID))
            moments.append((after - timedelta(seconds=1), "GET", f"/{codes[i]}", PREVIEW))
    for day in (0, 0, 1, 100, 334, 335, 336, 600):
        for agent in (IPHONE, ANDROID, IPHONE, PREVIEW):
            moments.append((timedelta(days=day, hours=3), "GET", f"/{shop}", agent))
    moments.append((timedelta(days=10), "HEAD", f"/{shop}", IPHONE))
    for who, kind, block, after in EVENTS:
        path = f"/p/{_token(engine, codes[who])}/events/{kind}/{block}"
        moments.append((after, "POST", path, IPHONE))
    for after, method, path, agent in sorted(moments, key=lambda m: m[0]):
        clock.set(START + after)
        answer = api.request(method, path, headers={"User-Agent": agent}, follow_redirects=False)
        assert answer.status_code in (200, 204, 302), (path, answer.text)
    clock.set(NOW)
    return campaign_id, codes, shop


def _results(api: TestClient, campaign_id: int, codes: list[str], shop: str) -> dict[str, Any]:
    """Everything the results show that clicks and page events feed."""
    segment = api.post(
        "/api/segments",
        json={"name": f"clicked {next(_SEGMENTS)}", "filters": [
            {"field": "clicked", "op": "eq", "value": True}]},
    )  # fmt: skip
    assert segment.status_code == 201, segment.text
    found = {
        "stats": api.get(f"/api/campaigns/{campaign_id}/stats").json(),
        "compare": api.get(f"/api/stats/compare?campaigns={campaign_id}").json(),
        "page": api.get("/api/pages/1/stats").json(),
        "messages.csv": api.get(f"/api/campaigns/{campaign_id}/export/messages.csv").text,
        "excel-fr": api.get(f"/api/campaigns/{campaign_id}/export/excel-fr/messages.csv").text,
        "links": [api.get(f"/api/links/{code}/stats").json() for code in [*codes, shop]],
        "clicked": api.get(f"/api/segments/{segment.json()['id']}/count").json(),
    }
    found["clicked"].pop("id")
    return found


def _oldest(engine: Engine) -> tuple[datetime | None, datetime | None, int, int]:
    with read_session(engine) as session:
        first_click, clicks = session.execute(
            select(func.min(col(Click.clicked_at)), func.count())
        ).one()
        first_event, events = session.execute(
            select(func.min(col(PageEvent.at)), func.count())
        ).one()
    return first_click, first_event, int(clicks), int(events)


def test_results_are_the_same_once_old_events_are_folded_and_deleted(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    campaign_id, codes, shop = _two_years(api, engine, clock)
    before = _results(api, campaign_id, codes, shop)
    # The figures are those of the two years: each recipient who tapped counted once.
    engagement = before["stats"]["engagement"]
    assert engagement["unique_clicks"] == 4
    assert engagement["human_clicks"] == sum(len(t) for t in TAPS)
    assert engagement["page_events"]["coupon_copied"] == 2
    assert before["stats"]["reading_delay"]["clickers"] == 4
    assert before["clicked"]["contacts"] == 4
    _, _, raw_clicks, raw_events = _oldest(engine)

    assert settings.event_retention_days == 395
    pruned = prune_events(engine=engine, now=clock.now(), retention_days=395, links_per_batch=2)
    cutoff = retention_cutoff(clock.now(), 395)
    assert cutoff == datetime(2025, 10, 25, tzinfo=UTC)  # the midnight 395 days ago
    assert pruned.batches >= 3  # three batches of two links, then the page events
    assert pruned.clicks_deleted > 0 and pruned.page_events_deleted == 4

    # No raw click or page event (address, user agent, referrer, when) older than that.
    first_click, first_event, clicks, events = _oldest(engine)
    assert first_click is not None and first_click >= cutoff
    assert first_event is not None and first_event >= cutoff
    assert clicks == raw_clicks - pruned.clicks_deleted and events == raw_events - 4
    with read_session(engine) as session:
        assert session.execute(select(func.count()).select_from(ClickDay)).scalar_one() > 0
        # The chart's buckets: minutes of the first hour, then whole hours.
        minutes = session.execute(select(CampaignClickMinute.minute)).scalars().all()
        assert minutes and all(m < 60 or m % 60 == 0 for m in minutes)
        assert len(minutes) < pruned.clicks_deleted

    assert _results(api, campaign_id, codes, shop) == before
    # The raw clicks export lists what the log still holds: the recent clicks only.
    export = api.get(f"/api/campaigns/{campaign_id}/export/clicks.csv").text.splitlines()
    assert len(export) - 1 == sum(2 for taps in TAPS for t in taps if START + t >= cutoff)

    # Twice is once: nothing is left to fold, nothing is counted again.
    again = prune_events(engine=engine, now=clock.now(), retention_days=395)
    assert (again.clicks_deleted, again.page_events_deleted, again.batches) == (0, 0, 0)
    # The page no longer remembers the scratch card revealed two years ago: revealed
    # again, its recipient still counts once.
    revealed = api.post(f"/p/{_token(engine, codes[0])}/events/scratch_revealed/sc",
                        headers={"User-Agent": IPHONE})  # fmt: skip
    assert revealed.status_code == 204
    assert _results(api, campaign_id, codes, shop) == before


def test_a_fold_that_fails_midway_loses_and_counts_nothing(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    campaign_id, codes, shop = _two_years(api, engine, clock)
    before = _results(api, campaign_id, codes, shop)
    cutoff = retention_cutoff(clock.now(), 395)
    with read_session(engine) as session:
        links = list(session.execute(select(Link.id).order_by(Link.id)).scalars())
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        assert fold_clicks(session=session, link_ids=links, before=cutoff) > 0
        assert delete_clicks(session=session, link_ids=links, before=cutoff) > 0
        raise RuntimeError("the process died here")
    with read_session(engine) as session:
        assert session.execute(select(func.count()).select_from(ClickDay)).scalar_one() == 0
    assert _results(api, campaign_id, codes, shop) == before
    prune_events(engine=engine, now=clock.now(), retention_days=395)
    assert _results(api, campaign_id, codes, shop) == before
