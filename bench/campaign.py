"""Planning a campaign of a million recipients (the planning job, as a worker runs it),
and, in the same run, the floor: a bare `executemany` of the same message and link rows
(and coupon rows for a page campaign) into the same kind of database, in transactions of
the same size. The ratio of the two is
what planning costs over writing its rows (goal: at most 3), whatever the machine's load.

    python -m bench.campaign [--recipients 1000000] [--backends sqlite,postgresql] [--page]

`--page`: the campaign sends a published landing page with a coupon block (codes generated
from a pattern): each recipient gets a page token, a coupon and a link at planning, and
the floor writes the coupon rows as well.

`--cap`: every recipient got one promotion three days ago and one in ten two (so the
account's frequency cap, 2 per 7 days, leaves those out); planning runs with the cap on,
then on a copy of the same database with the cap off, and prints both (the floor then
writes the earlier promotions too: its ratio is not comparable).

Planning and the floor each run in a fresh process pinned to one core, so that the peak
memory printed is planning's own. Goals (SQLite): under 2 minutes, under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

from bench.databases import POSTGRES_URL, reset_postgres
from landing_templates.coupons.models import Coupon
from landing_templates.pages import create_page, publish_page
from richsms.clock import SystemClock
from richsms.db import make_engine, normalize_url
from richsms.migrate import upgrade
from richsms.settings import Settings
from sender.audience.custom_fields import record_custom_fields
from sender.audience.models import Contact, ContactGroup, GroupMember
from sender.campaigns.campaign import CampaignSpec, create_campaign, request_send
from sender.campaigns.models import Campaign
from sender.campaigns.planning_job import BATCH, run_planning
from sender.delivery.frequency_caps import REASON as CAPPED
from sender.delivery.models import Message
from sender.delivery.outbox import NewMessage, message_row
from shortener.codes import CodeMaker
from shortener.models import Link

SECRET = "bench-secret-key-0123456789abcdef0123456789"
NAMES = [
    "Marie",
    "Jean",
    "François",
    "Léa",
    "Hélène",
    "Nicolas",
    "Camille",
    "Zoé",
    "Lucas",
    "Chloé",
    "Maximilien-Alexandre",
    "Inès",
    "Hugo",
    "Manon",
    "Gaëlle",
    "Noël",
]
CITIES = ["Lyon", "Paris", "Marseille", "Nice", "Nantes", "Lille", "Besançon", "Saint-Étienne"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--page", action="store_true", help="a page campaign with a coupon")
    parser.add_argument(
        "--cap", action="store_true", help="earlier promotions; planning with the cap on and off"
    )
    parser.add_argument("--plan", nargs="+", metavar=("URL", "CAMPAIGN"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--floor", nargs=3, metavar=("FROM", "TO", "BACKEND"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.plan:
        plan_only(args.plan[0], int(args.plan[1]), *args.plan[2:])
        return
    if args.floor:
        floor_only(args.floor[0], args.floor[1], args.floor[2])
        return
    work = Path(tempfile.mkdtemp(prefix="richsms-campaign-"))
    for backend in args.backends.split(","):
        url = f"sqlite:///{work / 'campaign.db'}" if backend == "sqlite" else POSTGRES_URL
        campaign_id = seed(url, backend, args.recipients, page=args.page, history=args.cap)
        if args.cap:
            uncapped = copy_database(url, backend, work, "uncapped")
            off = pinned("--plan", uncapped, str(campaign_id), "off")
            print(
                f"[{backend}] cap off: planned {off['planned']:,} recipients in "
                f"{off['seconds']:.1f} s ({off['planned'] / off['seconds']:,.0f}/s)",
                flush=True,
            )
        # The floor writes into a copy of the seeded database: the same contacts, campaign,
        # indexes and foreign keys as planning writes into.
        target = copy_database(url, backend, work)
        result = pinned("--plan", url, str(campaign_id))
        kind = "page campaign (token, coupon, link each)" if args.page else "campaign"
        if args.cap:
            kind += f", cap on ({result['capped']:,} capped)"
        print(
            f"[{backend}] {kind}: planned {result['planned']:,} recipients in "
            f"{result['seconds']:.1f} s"
            f" ({result['planned'] / result['seconds']:,.0f}/s), peak RSS "
            f"{result['peak_mb']:.0f} MB (load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores)",
            flush=True,
        )
        floor = pinned("--floor", url, target, backend)
        print(
            f"[{backend}] floor: bare executemany of the same {floor['messages']:,} messages, "
            f"{floor['links']:,} links and {floor['coupons']:,} coupons in "
            f"{floor['seconds']:.1f} s; "
            f"planning/floor = {result['seconds'] / floor['seconds']:.2f}",
            flush=True,
        )


def copy_database(url: str, backend: str, work: Path, name: str = "floor") -> str:
    if backend == "sqlite":
        shutil.copyfile(work / "campaign.db", work / f"{name}.db")
        return f"sqlite:///{work / f'{name}.db'}"
    parsed = normalize_url(url)
    copy = f"{parsed.database}_{name}"
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}"'))
        conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{parsed.database}"'))
    admin.dispose()
    return parsed.set(database=copy).render_as_string(hide_password=False)


def pinned(*arguments: str) -> dict[str, Any]:
    """Run this module with `arguments` in a fresh process on one core; its JSON answer."""
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-m", "bench.campaign", *arguments],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return answer


def seed(url: str, backend: str, count: int, *, page: bool = False, history: bool = False) -> int:
    if backend == "postgresql":
        reset_postgres(url)
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        group = ContactGroup(name="everyone", created_at=now)
        session.add(group)
        session.commit()
        for start in range(0, count, 20_000):
            rows = [
                {
                    "id": i + 1,
                    "phone": f"+336{i:08d}",
                    "first_name": NAMES[i % len(NAMES)],
                    "last_name": "",
                    "email": "",
                    "language": "fr" if i % 5 else "en",
                    "timezones": "Europe/Paris",
                    "fields": {"city": CITIES[i % len(CITIES)]},
                    "status": "subscribed",
                    "consent_type": "express",
                    "consent_source": "bench",
                    "consent_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(start, min(start + 20_000, count))
            ]
            session.execute(insert(Contact), rows)
            session.execute(
                insert(GroupMember),
                [{"group_id": group.id, "contact_id": r["id"], "added_at": now} for r in rows],
            )
            if history:
                session.execute(insert(Message), earlier_promotions(rows, now))
            session.commit()
        assert group.id is not None
        record_custom_fields(session=session, names=["city"])
        page_id = seed_page(session) if page else None
        campaign = create_campaign(
            session=session,
            clock=SystemClock(),
            created_by=None,
            spec=CampaignSpec(
                name="bench",
                type="promotional",
                target_url=None if page else "https://shop.example/soldes",
                page_id=page_id,
                template='Bonjour {{ contact.first_name | default("ami") }}, -20% à '
                "{{ contact.city }} ce week-end : {{ link }}",
                group_ids=[group.id],
                rate=10_000,
                window_start="00:00",  # a benchmark runs at any hour
                window_end="23:59",
            ),
        )
        assert campaign.id is not None
        request_send(session=session, clock=SystemClock(), campaign_id=campaign.id)
        session.commit()
    print(
        f"[{backend}] seeded {count:,} contacts in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    engine.dispose()
    assert campaign.id is not None
    return campaign.id


def seed_page(session: Session) -> int:
    """A published page showing each recipient a coupon generated from a pattern."""
    clock = SystemClock()
    page = create_page(
        session=session,
        clock=clock,
        name="Soldes",
        language="fr",
        blocks=[
            {"type": "heading", "text": 'Bonjour {{ contact.first_name | default("ami") }}'},
            {
                "id": "coupon",
                "type": "coupon",
                "source": "generate",
                "pattern": "SOLDES-??????##",
                "symbology": "code128",
            },
        ],
    )
    assert page.page.id is not None
    publish_page(session=session, clock=clock, page_id=page.page.id)
    session.commit()
    return page.page.id


def earlier_promotions(contacts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """One promotion delivered to each contact three days ago, and one in ten a second a
    day later: the account's cap (2 per 7 days) leaves those out."""
    rows = []
    for contact in contacts:
        for days in (3, 2) if contact["id"] % 10 == 0 else (3,):
            at = now - timedelta(days=days)
            promotion = NewMessage(
                phone=contact["phone"],
                type="promotional",
                text="Soldes !",
                segments=1,
                due_at=at,
                contact_id=contact["id"],
            )
            row = message_row(promotion, now=at)
            rows.append(
                {
                    **row,
                    "state": "delivered",
                    "sending_at": at,
                    "sent_at": at,
                    "delivered_at": at,
                }
            )
    return rows


def plan_only(url: str, campaign_id: int, cap: str = "2/7d") -> None:
    settings = Settings.from_mapping(
        {
            "RICHSMS_DATABASE_URL": url,
            "RICHSMS_SECRET_KEY": SECRET,
            "RICHSMS_SHORT_URL": "https://ex.co/",
            "RICHSMS_FREQUENCY_CAP": cap,
            "RICHSMS_FREQUENCY_GAP_HOURS": "16" if cap != "off" else "0",
        }
    )
    engine = make_engine(url)
    started = time.perf_counter()
    finished = run_planning(
        engine=engine,
        clock=SystemClock(),
        settings=settings,
        codes=CodeMaker(SECRET),
        worker_id="bench",
        campaign_id=campaign_id,
    )
    seconds = time.perf_counter() - started
    assert finished == [campaign_id], "the planning job did not finish"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        planned = campaign.planned_count
        capped = (campaign.exclusions or {}).get(CAPPED, 0)
    engine.dispose()
    print(json.dumps({"planned": planned, "capped": capped, "seconds": seconds, "peak_mb": peak}))


def floor_only(source_url: str, target_url: str, backend: str) -> None:
    """Copy the planned messages and links into the copy of the seeded database with bare
    `executemany` calls, one transaction per planning batch (links and messages together,
    as planning writes them); only the inserts and commits are timed."""
    source = make_engine(source_url)
    target = make_engine(target_url)
    message_columns = [c for c in _columns(Message) if c != "id"]
    link_columns = _columns(Link)
    coupon_columns = _columns(Coupon)
    mark = "?" if backend == "sqlite" else "%s"
    insert_link = _insert_sql("link", link_columns, mark)
    insert_message = _insert_sql("message", message_columns, mark)
    insert_coupon = _insert_sql("coupon", coupon_columns, mark)
    seconds = 0.0
    counts = {"messages": 0, "links": 0, "coupons": 0}
    raw = target.raw_connection()
    try:
        cursor = raw.cursor()
        links = _chunks(source, Link, link_columns)
        messages = _chunks(source, Message, message_columns)
        coupons = _chunks(source, Coupon, coupon_columns)
        while True:
            link_rows, message_rows = next(links), next(messages)
            coupon_rows = next(coupons)
            if not link_rows and not message_rows and not coupon_rows:
                break
            began = time.perf_counter()
            if backend == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            if coupon_rows:  # as planning writes them: coupons, links, then messages
                cursor.executemany(insert_coupon, coupon_rows)
            if link_rows:
                cursor.executemany(insert_link, link_rows)
            if message_rows:
                cursor.executemany(insert_message, message_rows)
            if backend == "sqlite":
                cursor.execute("COMMIT")
            else:
                raw.commit()
            seconds += time.perf_counter() - began
            counts["links"] += len(link_rows)
            counts["messages"] += len(message_rows)
            counts["coupons"] += len(coupon_rows)
    finally:
        raw.close()
    source.dispose()
    target.dispose()
    print(json.dumps({**counts, "seconds": seconds}))


def _columns(model: Any) -> list[str]:
    return [c.name for c in model.__table__.columns]


def _chunks(engine: Engine, model: Any, columns: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in id order, BATCH at a time, as the driver stores them (each
    type's bind processor applied), then empty lists forever."""
    table = model.__table__
    processors = [table.c[name].type.bind_processor(engine.dialect) for name in columns]
    last = 0
    while True:
        with engine.connect() as conn:  # one short transaction per chunk
            rows = conn.execute(
                select(table.c.id, *[table.c[name] for name in columns])
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(BATCH)
            ).all()
        if not rows:
            break
        last = rows[-1][0]
        yield [_bound(processors, row[1:]) for row in rows]
    while True:
        yield []


def _bound(processors: list[Any], values: Any) -> tuple[Any, ...]:
    return tuple(p(v) if p is not None else v for p, v in zip(processors, values, strict=True))


def _insert_sql(table: str, columns: list[str], mark: str) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([mark] * len(columns))})'


if __name__ == "__main__":
    main()
