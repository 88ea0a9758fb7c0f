"""Benchmark of the contacts import: 100,000 CSV rows in under 20 s on one core.

Run with `python -m bench.contacts_import`. The file has French numbers written in several
ways, a few invalid numbers and a few duplicate rows; it is imported twice into an empty
database: first every contact is new (bulk inserts), then every contact exists (bulk
updates: the second file changes a custom field). On SQLite (a temporary file) and on
PostgreSQL (`RICHSMS_BENCH_POSTGRES_URL`, by default the `richsms_bench` database, created
if missing and reset: never the tests' database).

With `--stream N`, it then adds contacts up to N, puts them all in a group and times
`iter_audience` over that group.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session, col

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.migrate import upgrade
from sender.audience.csv_import import import_contacts
from sender.audience.groups import create_group
from sender.audience.models import Contact, GroupMember
from sender.audience.selection import iter_audience

ROWS: Final = 100_000
TIME_TARGET_SECONDS: Final = 20.0
FIRST_NAMES: Final = ("Jean", "Marie", "Léa", "Chloé", "François", "Hélène", "John", "Emily", "")
CITIES: Final = ("Paris", "Lyon", "Besançon", "Nîmes", "Saint-Étienne", "Montréal", "London")
FORMATS: Final = (
    "0{a} {b} {c} {d} {e}",  # 06 12 34 56 78
    "+33{a}{b}{c}{d}{e}",  # +33612345678
    "0033 {a} {b} {c} {d} {e}",
    "0{a}.{b}.{c}.{d}.{e}",
    "{a}{b}{c}{d}{e}",  # the leading 0 lost by a spreadsheet
    "+33 (0){a} {b} {c} {d} {e}",
)


def make_csv(rows: int, seed: int = 7, city_suffix: str = "") -> bytes:
    """`rows` data rows: ~1% invalid numbers, ~2% repeating an earlier number."""
    rng = random.Random(seed)
    lines = ["Téléphone;Prénom;Nom;Email;Langue;Ville;Code postal;Source;Date consentement"]
    numbers: list[str] = []
    for i in range(rows):
        roll = rng.random()
        if roll < 0.01:
            phone = rng.choice(("12345", "06 12", "n/a", "+33 1"))
        elif roll < 0.03 and numbers:
            phone = rng.choice(numbers)
        else:
            # Mobile numbers: 6 then 8 digits, or 7, a digit from 3 to 9, then 7 digits.
            n = f"6{i:08d}" if i % 2 else f"7{rng.randint(3, 9)}{i // 2:07d}"
            phone = rng.choice(FORMATS).format(a=n[0], b=n[1:3], c=n[3:5], d=n[5:7], e=n[7:])
            numbers.append(phone)
        first = rng.choice(FIRST_NAMES)
        lines.append(
            f"{phone};{first};Dupont;{first.lower() or 'x'}{i}@example.com;"
            f"{rng.choice(('fr', 'FR', 'français', 'en', ''))};{rng.choice(CITIES)}{city_suffix};"
            f"{rng.randint(10000, 99999)};site web;{rng.randint(1, 28):02d}/03/2025"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def fresh_engine(backend: str, work: Path) -> Engine:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{work / 'bench.db'}")
    else:
        reset_postgres(POSTGRES_URL)
        engine = make_engine(POSTGRES_URL)
    upgrade(engine)
    return engine


def timed_import(engine: Engine, data: bytes, label: str, rows: int) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        report = import_contacts(
            session=session,
            data=data,
            clock=SystemClock(),
            region="FR",
        )
    seconds = time.perf_counter() - started
    verdict = "ok" if seconds < TIME_TARGET_SECONDS else "TOO SLOW"
    print(
        f"  {label}: {seconds:6.2f} s, {rows / seconds:9,.0f} rows/s "
        f"(imported {report.imported}, updated {report.updated}, "
        f"duplicates {report.duplicates}, rejected {report.rejected_count}) {verdict}",
        flush=True,
    )
    return seconds


def stream(engine: Engine, total: int) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        have = session.execute(select(func.count()).select_from(Contact)).scalar_one()
        rows = [
            {
                "phone": f"+3369{n:07d}",  # apart from the imported numbers
                "first_name": "Léa",
                "last_name": "Martin",
                "email": "",
                "language": "fr",
                "timezones": "Europe/Paris",
                "fields": {"city": "Lyon"},
                "status": "subscribed",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(total - have)
        ]
        for start in range(0, len(rows), 5_000):
            session.execute(insert(Contact), rows[start : start + 5_000])
        group = create_group(session=session, name="everyone", clock=SystemClock())
        ids = list(session.execute(select(col(Contact.id))).scalars())
        for start in range(0, len(ids), 5_000):
            session.execute(
                insert(GroupMember),
                [
                    {"group_id": group.id, "contact_id": i, "added_at": now}
                    for i in ids[start : start + 5_000]
                ],
            )
        session.commit()
        started = time.perf_counter()
        count = sum(1 for _ in iter_audience(session=session, group_ids=[group.id or 0]))
        seconds = time.perf_counter() - started
    print(f"  stream: {count:,} contacts in {seconds:.2f} s ({count / seconds:,.0f}/s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--stream", type=int, default=0, help="contacts to stream afterwards")
    args = parser.parse_args()
    first, second = make_csv(args.rows), make_csv(args.rows, city_suffix=" (2)")
    with tempfile.TemporaryDirectory(prefix="richsms-bench-") as work:
        for backend in args.backends.split(","):
            print(f"[{backend}] {args.rows:,} rows", flush=True)
            engine = fresh_engine(backend, Path(work))
            timed_import(engine, first, "new contacts    ", args.rows)
            timed_import(engine, second, "existing contacts", args.rows)
            if args.stream:
                stream(engine, args.stream)
            engine.dispose()


if __name__ == "__main__":
    main()
