"""A campaign's results, computed from the record: states, receipts, clicks, coupons and
replies of a small campaign whose every figure is known."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from landing_templates.coupons.models import Coupon
from landing_templates.models import Page
from landing_templates.page_events import NewPageEvent, record_page_event
from richsms.db import read_session, session_scope
from richsms.errors import InvalidInput, NotFound
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.delivery.models import InboundMessage, Message
from sender.results.campaign_stats import campaign_report, compare_campaigns, parse_campaign_ids
from sender.results.page_stats import page_report
from shortener.models import Click, Link
from tests.clock import FrozenClock

# (state, segments, delivered after sending, first human click after reaching, error)
PLAN: list[tuple[str, int, timedelta | None, timedelta | None, str | None]] = [
    ("delivered", 1, timedelta(seconds=5), timedelta(seconds=30), None),
    ("delivered", 1, timedelta(seconds=5), timedelta(minutes=2), None),
    ("delivered", 2, timedelta(seconds=5), timedelta(minutes=20), None),
    ("delivered", 1, timedelta(seconds=5), None, None),
    ("undelivered", 1, timedelta(seconds=9), None, "EXPIRED at the operator"),
    ("sent", 1, None, timedelta(hours=2), None),
    ("failed", 1, None, None, "invalid number"),
    ("queued", 1, None, None, None),
    ("error", 0, None, None, "template failed for this contact: x"),
]


def seed(engine: Engine, clock: FrozenClock, name: str = "Noël") -> int:
    start = clock.now()
    with session_scope(engine) as session:
        campaign = Campaign(
            name=name,
            type="promotional",
            status="sending",
            template="x",
            excluded_count=3,
            created_at=start,
            updated_at=start,
        )
        page = Page(name="Noël page", language="fr", created_at=start, updated_at=start)
        session.add_all([campaign, page])
        session.flush()
        assert campaign.id is not None and page.id is not None
        cid, page_id = campaign.id, page.id
        for i, (state, segments, delivered, click, error) in enumerate(PLAN):
            contact = Contact(
                phone=f"+3361234{cid:02d}{i:02d}", created_at=start, updated_at=start
            )
            session.add(contact)
            session.flush()
            link = Link(
                code=f"c{cid}x{i}",
                page_id=page_id,
                target_url="https://shop.example/",
                contact_id=contact.id,
                campaign_id=cid,
                created_at=start,
            )
            session.add(link)
            session.flush()
            sent = start if state in ("delivered", "undelivered", "sent") else None
            reached = sent + delivered if sent and delivered else sent
            session.add(
                Message(
                    campaign_id=cid,
                    contact_id=contact.id,
                    phone=contact.phone,
                    type="promotional",
                    text="x",
                    segments=segments,
                    link_id=link.id,
                    state=state,
                    due_at=start,
                    planned_at=start,
                    sent_at=sent,
                    delivered_at=reached if state == "delivered" else None,
                    error=error,
                )
            )
            if click is not None and reached is not None:
                clicks = [(reached + click, False), (reached + click - timedelta(seconds=1), True)]
                clicks.append((reached + click + timedelta(minutes=1), False))
                session.execute(
                    insert(Click),
                    [
                        {
                            "link_id": link.id,
                            "contact_id": contact.id,
                            "clicked_at": at,
                            "method": "GET",
                            "is_bot": bot,
                            "user_agent": "ua",
                            "referrer": "",
                            "ip": "",
                            "visitor": "v",
                        }
                        for at, bot in clicks
                    ],
                )
            if i < 3:
                for _ in range(2):  # a reload records nothing more
                    event = NewPageEvent(
                        page_id=page_id,
                        block_id="scratch-1",
                        contact_id=contact.id or 0,
                        kind="scratch_revealed",
                        campaign_id=cid,
                    )
                    record_page_event(session=session, clock=clock, event=event)
                session.add(
                    Coupon(
                        code=f"C{cid}-{i}",
                        page_id=page_id,
                        contact_id=contact.id,
                        campaign_id=cid,
                        created_at=start,
                        assigned_at=start,
                        redeemed_at=start + timedelta(hours=1) if i == 0 else None,
                    )
                )
            if i in (0, 4):
                session.add(
                    InboundMessage(
                        contact_id=contact.id,
                        campaign_id=cid,
                        phone=contact.phone,
                        text="STOP" if i == 4 else "Merci !",
                        keyword="STOP" if i == 4 else None,
                        received_at=start + timedelta(hours=1),
                    )
                )
        return cid


def report(engine: Engine, campaign_id: int) -> dict[str, Any]:
    with read_session(engine) as session:
        return campaign_report(
            session=session,
            campaign_id=campaign_id,
            price_per_segment=Decimal("0.05"),
            currency="EUR",
        )


def test_production_and_delivery_figures(engine: Engine, clock: FrozenClock) -> None:
    figures = report(engine, seed(engine, clock))
    production, delivery = figures["production"], figures["delivery"]
    assert (production["planned"], production["errors"], production["excluded"]) == (8, 1, 3)
    assert production["remaining"] == 1
    assert production["error_reasons"] == [
        {"reason": "template failed for this contact: x", "count": 1}
    ]
    assert (delivery["sent"], delivery["delivered"], delivery["undelivered"]) == (6, 4, 1)
    assert (delivery["failed"], delivery["with_receipt"], delivery["without_receipt"]) == (1, 5, 1)
    assert {r["reason"] for r in delivery["failure_reasons"]} == {
        "invalid number",
        "EXPIRED at the operator",
    }
    assert delivery["segments"] == 7  # handed over: 1+1+2+1 delivered, 1 undelivered, 1 sent
    assert (delivery["cost"], delivery["currency"]) == ("0.35", "EUR")


def test_engagement_counts_people_not_taps_nor_bots(engine: Engine, clock: FrozenClock) -> None:
    engagement = report(engine, seed(engine, clock))["engagement"]
    assert (engagement["clicks"], engagement["human_clicks"], engagement["bot_clicks"]) == (
        12,
        8,
        4,
    )
    assert engagement["unique_clicks"] == 4
    assert engagement["ctr_basis"] == "delivered"
    assert engagement["click_through_rate"] == 1.0  # 4 unique clickers / 4 delivered
    assert (engagement["coupons_issued"], engagement["redemptions"]) == (3, 1)
    assert engagement["page_events"] == {
        "scratch_revealed": 3,
        "wheel_spun": 0,
        "coupon_copied": 0,
        "button_tapped": 0,
    }
    # People who did it over the people who opened the page (4 unique human clickers).
    assert engagement["page_event_rates"] == {
        "scratch_revealed": 0.75,
        "wheel_spun": 0.0,
        "coupon_copied": 0.0,
        "button_tapped": 0.0,
    }
    assert engagement["redemption_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (engagement["replies"], engagement["opt_outs"], engagement["opt_out_rate"]) == (
        2,
        1,
        0.25,
    )


def test_reading_delay_from_delivery_to_the_first_human_click(
    engine: Engine, clock: FrozenClock
) -> None:
    delay = report(engine, seed(engine, clock))["reading_delay"]
    # 30 s, 2 min, 20 min from delivery; 2 h from sending (no receipt for that one).
    assert delay["clickers"] == 4
    assert delay["median_seconds"] == 120.0
    assert delay["p90_seconds"] == 7200.0
    assert (delay["within_3_minutes"], delay["within_1_hour"]) == (0.5, 0.75)
    assert delay["measured_from"] == "delivery where receipted, else sending"
    counts = {b["bucket"]: b["count"] for b in delay["histogram"]}
    assert (counts["< 1 min"], counts["1-3 min"], counts["10-30 min"], counts["1-3 h"]) == (
        1,
        1,
        1,
        1,
    )


def test_clicks_over_time_per_minute_then_per_hour(engine: Engine, clock: FrozenClock) -> None:
    timeline = report(engine, seed(engine, clock))["clicks_over_time"]
    assert timeline["start"] == "2026-11-24T12:00:00Z"
    minutes = timeline["per_minute"]
    # Human clicks at 0:35 and 1:35, 2:05 and 3:05, 20:05 and 21:05 after the start.
    assert sum(minutes) == 6
    assert (minutes[0], minutes[1], minutes[2], minutes[3], minutes[20], minutes[21]) == (
        1,
        1,
        1,
        1,
        1,
        1,
    )
    # Then hour by hour from the end of the first: none in 1-2 h, two in 2-3 h.
    assert timeline["per_hour"] == [0, 2]


def test_comparison_side_by_side_and_bad_requests(engine: Engine, clock: FrozenClock) -> None:
    first, second = seed(engine, clock, "A"), seed(engine, clock, "B")
    with read_session(engine) as session:
        compared = compare_campaigns(
            session=session,
            campaign_ids=[first, second],
            price_per_segment=Decimal("0.05"),
            currency="EUR",
        )
        assert [c["name"] for c in compared["campaigns"]] == ["A", "B"]
        with pytest.raises(NotFound):
            campaign_report(
                session=session, campaign_id=999, price_per_segment=Decimal(0), currency="EUR"
            )
    assert parse_campaign_ids("3, 1,3") == [3, 1]
    for bad in ("", "1,x", "²", ",".join(str(i) for i in range(11)), "99999999999"):
        with pytest.raises(InvalidInput):
            parse_campaign_ids(bad)


def test_an_empty_campaign_has_no_rates_rather_than_a_division_by_zero(
    engine: Engine, clock: FrozenClock
) -> None:
    now: datetime = clock.now()
    with session_scope(engine) as session:
        campaign = Campaign(
            name="empty", type="informational", template="x", created_at=now, updated_at=now
        )
        session.add(campaign)
        session.flush()
        cid = campaign.id
    assert cid is not None
    figures = report(engine, cid)
    assert figures["engagement"]["click_through_rate"] is None
    assert figures["reading_delay"]["median_seconds"] is None
    assert figures["clicks_over_time"] == {"start": None, "per_minute": [], "per_hour": []}


def test_a_page_report_counts_visitors_events_and_redemptions(
    engine: Engine, clock: FrozenClock
) -> None:
    seed(engine, clock)
    with read_session(engine) as session:
        page = page_report(session=session, page_id=1)
        with pytest.raises(NotFound):
            page_report(session=session, page_id=2)
    assert (page["clicks"], page["human_clicks"], page["unique_visitors"]) == (12, 8, 4)
    assert page["page_events"]["scratch_revealed"] == 3
    assert page["page_event_rates"]["scratch_revealed"] == 0.75
    assert (page["coupons_issued"], page["redemptions"]) == (3, 1)
