"""A campaign's whole results at scale: 1,000,000 messages, 300,000 clicks, 20,000
redemptions: what the stats request costs (the kept report) and what computing the
report from the record takes, on SQLite and PostgreSQL.

    python -m bench.stats [--messages N] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from bench.databases import POSTGRES_URL, reset_postgres
from landing_templates.coupons.models import Coupon
from richsms.db import make_engine, read_session
from richsms.migrate import upgrade
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from sender.results.breakdown import campaign_breakdown
from sender.results.campaign_stats import campaign_report
from sender.results.report_cache import current_report, refresh_reports
from shortener.models import Click, Link

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)  # a campaign still moving
CHUNK = 50_000


def seed(engine: Engine, messages: int, clicks: int, redemptions: int) -> int:
    rng = random.Random(7)
    with Session(engine) as session:
        campaign = Campaign(
            name="bench",
            type="promotional",
            status="sending",
            template="x",
            planned_count=messages,  # as planning leaves it
            created_at=START,
            updated_at=START,
        )
        session.add(campaign)
        session.commit()
        campaign_id = campaign.id
    assert campaign_id is not None
    for first in range(1, messages + 1, CHUNK):
        ids = range(first, min(messages + 1, first + CHUNK))
        links = [
            {
                "id": i,
                "code": f"b{i}",
                "target_url": "https://shop.example/",
                "contact_id": i,
                "campaign_id": campaign_id,
                "created_at": START,
            }
            for i in ids
        ]
        rows: list[dict[str, Any]] = []
        for i in ids:
            roll = rng.random()
            state = "delivered" if roll < 0.9 else "sent" if roll < 0.96 else "failed"
            sent = START + timedelta(seconds=i // 100)
            rows.append(
                {
                    "id": i,
                    "campaign_id": campaign_id,
                    "contact_id": None,  # contacts are not what is measured (links carry them)
                    "phone": f"+336{i:08d}",
                    "type": "promotional",
                    "text": "Bonjour, -20% ce week-end https://ex.co/abcdefghi STOP 36180",
                    "segments": 1,
                    "sender": "",
                    "encoding": "GSM-7",
                    "is_test": False,
                    "window": "",
                    "timezones": "",
                    "link_id": i,
                    "state": state,
                    "due_at": START,
                    "planned_at": START,
                    "sent_at": sent if state != "failed" else None,
                    "delivered_at": sent + timedelta(seconds=4) if state == "delivered" else None,
                    "error": "invalid number" if state == "failed" else None,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(Link), links)
            conn.execute(insert(Message), rows)
    clicked = rng.sample(range(1, messages + 1), clicks * 2 // 3)
    click_rows = []
    for n, i in enumerate(clicked):
        at = START + timedelta(seconds=i // 100 + int(rng.expovariate(1 / 240)))
        click_rows.append((i, at, False))
        if n % 2 == 0:  # half the clickers come back once
            click_rows.append((i, at + timedelta(minutes=5), False))
    click_rows = click_rows[:clicks]
    for first in range(0, len(click_rows), CHUNK):
        with engine.begin() as conn:
            conn.execute(
                insert(Click),
                [
                    {
                        "link_id": i,
                        "contact_id": i,
                        "clicked_at": at,
                        "method": "GET",
                        "is_bot": bot,
                        "user_agent": "Mozilla/5.0 (iPhone)",
                        "referrer": "",
                        "ip": "203.0.113.0",
                        "visitor": "v",
                    }
                    for i, at, bot in click_rows[first : first + CHUNK]
                ],
            )
    with engine.begin() as conn:
        conn.execute(
            insert(Coupon),
            [
                {
                    "code": f"NOEL-{i:07d}",
                    "contact_id": i,
                    "campaign_id": campaign_id,
                    "created_at": START,
                    "assigned_at": START,
                    "redeemed_at": START + timedelta(hours=2) if n < redemptions else None,
                }
                for n, i in enumerate(clicked[: redemptions * 3])
            ],
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return int(campaign_id)


def measure(engine: Engine, campaign_id: int, runs: int = 5) -> tuple[float, dict[str, Any]]:
    times = []
    figures: dict[str, Any] = {}
    for _ in range(runs):
        began = time.perf_counter()
        with read_session(engine) as session:
            figures = campaign_report(
                session=session,
                campaign_id=campaign_id,
                price_per_segment=Decimal("0.05"),
                currency="EUR",
            )
        times.append(time.perf_counter() - began)
    return statistics.median(times), figures


def breakdown(engine: Engine, campaign_id: int, runs: int = 5) -> float:
    """What the split by language and by sender number adds to the report (median)."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        with read_session(engine) as session:
            campaign_breakdown(session=session, campaign_id=campaign_id)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def answer(engine: Engine, campaign_id: int, runs: int = 20) -> float:
    """What `GET /api/campaigns/{id}/stats` costs: the kept report, read (median)."""
    now = datetime.now(UTC)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        with read_session(engine) as session:
            current_report(
                session=session,
                campaign_id=campaign_id,
                now=now,
                price_per_segment=Decimal("0.05"),
                currency="EUR",
                live_up_to=0,  # kept whatever the size (a real one is kept past 100,000)
            )
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def run(name: str, engine: Engine, args: argparse.Namespace) -> None:
    upgrade(engine)
    began = time.perf_counter()
    campaign_id = seed(engine, args.messages, args.clicks, args.redemptions)
    print(f"{name}: seeded in {time.perf_counter() - began:.0f} s")
    began = time.perf_counter()
    kept = refresh_reports(
        engine=engine,
        now=datetime.now(UTC),
        price_per_segment=Decimal("0.05"),
        currency="EUR",
        live_up_to=0,
    )
    refresh = time.perf_counter() - began
    assert kept == 1, kept
    print(
        f"{name}: GET /api/campaigns/{{id}}/stats answers in "
        f"{answer(engine, campaign_id) * 1000:.1f} ms (median of 20; the report the chore "
        f"loop keeps, refreshed every 60 s while the campaign moves: {refresh:.1f} s each)"
    )
    median, figures = measure(engine, campaign_id)
    engagement = figures["engagement"]
    delay = figures["reading_delay"]
    print(
        f"{name}: the report computed from the record ({args.messages:,} messages, "
        f"{engagement['clicks']:,} clicks, {engagement['redemptions']:,} redemptions): median "
        f"{median * 1000:.0f} ms; median reading delay {delay['median_seconds']} s, "
        f"{delay['within_3_minutes']:.0%} within 3 min; of which the split by language and by "
        f"sender number: median {breakdown(engine, campaign_id) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=300_000)
    parser.add_argument("--redemptions", type=int, default=20_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'stats.db'}")
        run("SQLite", engine, args)
        engine.dispose()
    if not args.skip_postgres:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/richsms_bench_stats"
        reset_postgres(url)
        engine = make_engine(url)
        run("PostgreSQL", engine, args)
        engine.dispose()


if __name__ == "__main__":
    main()
