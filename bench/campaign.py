"""Planning a campaign of a million recipients, then handing messages to the console
provider as fast as it goes, on SQLite and PostgreSQL.

    python -m bench.campaign [--recipients 1000000] [--backends sqlite,postgresql]

Planning runs in a fresh process pinned to one core so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.migrate import upgrade
from richsms.settings import Settings
from sender.campaigns import CampaignSpec, create_campaign
from sender.models import Contact, ContactGroup, GroupMember
from sender.providers.console import ConsoleProvider
from sender.worker import Worker
from shortener.codes import CodeMaker

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
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--send", type=int, default=100_000, help="messages to hand over")
    parser.add_argument("--plan", nargs=2, metavar=("URL", "CAMPAIGN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plan:
        plan_only(args.plan[0], int(args.plan[1]))
        return
    work = Path(tempfile.mkdtemp(prefix="richsms-campaign-"))
    for backend in args.backends.split(","):
        url = f"sqlite:///{work / 'campaign.db'}" if backend == "sqlite" else POSTGRES_URL
        campaign_id = seed(url, backend, args.recipients)
        out = subprocess.run(
            [
                "taskset",
                "-c",
                "0",
                sys.executable,
                "-m",
                "bench.campaign",
                "--plan",
                url,
                str(campaign_id),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(
            f"[{backend}] planned {result['planned']:,} recipients in {result['seconds']:.1f} s"
            f" ({result['planned'] / result['seconds']:,.0f}/s), peak RSS "
            f"{result['peak_mb']:.0f} MB",
            flush=True,
        )
        rate = send_planned(url, args.send)
        print(
            f"[{backend}] console provider: {rate:,.0f} messages/s over the first "
            f"{args.send:,} planned messages",
            flush=True,
        )


def send_planned(url: str, count: int) -> float:
    """Hand the campaign's own messages to the console provider at the highest rate."""
    engine = make_engine(url)
    worker = Worker(engine, ConsoleProvider(), SystemClock(), default_rate=1e9)
    console = logging.getLogger("richsms.console")
    console.setLevel(logging.WARNING)
    started = time.perf_counter()
    while worker.stats.handed < count:
        if worker.run_once() == 0 and worker.stats.handed == 0:
            raise RuntimeError("nothing to send: was the campaign planned?")
    seconds = time.perf_counter() - started
    worker.close()
    engine.dispose()
    return worker.stats.handed / seconds


def seed(url: str, backend: str, count: int) -> int:
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
            session.commit()
        assert group.id is not None
        campaign = create_campaign(
            session=session,
            clock=SystemClock(),
            created_by=None,
            spec=CampaignSpec(
                name="bench",
                type="promotional",
                target_url="https://shop.example/soldes",
                template='Bonjour {{ contact.first_name | default("ami") }}, -20% à '
                "{{ contact.city }} ce week-end : {{ link }}",
                group_ids=[group.id],
                rate=10_000,
                window_start="00:00",  # a benchmark runs at any hour
                window_end="23:59",
            ),
        )
    print(
        f"[{backend}] seeded {count:,} contacts in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    engine.dispose()
    assert campaign.id is not None
    return campaign.id


def plan_only(url: str, campaign_id: int) -> None:
    from sender.planner import plan_campaign

    settings = Settings.from_mapping(
        {
            "RICHSMS_DATABASE_URL": url,
            "RICHSMS_SECRET_KEY": SECRET,
            "RICHSMS_SHORT_URL": "https://ex.co/",
        }
    )
    engine = make_engine(url)
    started = time.perf_counter()
    report = plan_campaign(
        engine=engine,
        campaign_id=campaign_id,
        clock=SystemClock(),
        settings=settings,
        codes=CodeMaker(SECRET),
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"planned": report.planned, "seconds": seconds, "peak_mb": peak}))


if __name__ == "__main__":
    main()
