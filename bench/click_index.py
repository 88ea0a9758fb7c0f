"""What recording a click costs with the click log's index before and after this
session's change (link_id, clicked_at → link_id, clicked_at, is_bot, contact_id, so that
a campaign's results read the index alone): the click writer's own batches, same run,
SQLite and PostgreSQL. Medians of 5 rounds of 200 batches of 50 clicks.

    python -m bench.click_index [--skip-postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.db import make_engine
from richsms.migrate import upgrade
from shortener.anonymize import IpAnonymizer
from shortener.clicks import ClickEvent, ClickStore

BATCHES = 200
BATCH = 50
ROUNDS = 5
OLD = "CREATE INDEX ix_click_link_time ON click (link_id, clicked_at)"
NEW = "CREATE INDEX ix_click_link_time ON click (link_id, clicked_at, is_bot, contact_id)"


def events(rng: random.Random, start: datetime) -> list[ClickEvent]:
    return [
        ClickEvent(
            link_id=rng.randrange(1, 1_000_000),
            contact_id=rng.randrange(1, 1_000_000),
            at=start + timedelta(microseconds=rng.randrange(10**9)),
            method="GET",
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile Safari",
            referrer="",
            client_ip=f"203.0.113.{rng.randrange(256)}",
        )
        for _ in range(BATCH)
    ]


def clicks_per_second(engine: Engine, index: str) -> float:
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_click_link_time"))
        conn.execute(text(index))
    store = ClickStore(engine, IpAnonymizer("truncate", "bench-secret"))
    rng = random.Random(1)
    start = datetime.now(UTC)
    batches = [events(rng, start) for _ in range(BATCHES)]
    began = time.perf_counter()
    for batch in batches:
        store.write(batch)
    elapsed = time.perf_counter() - began
    store.close()
    return BATCHES * BATCH / elapsed


def run(name: str, engine: Engine) -> None:
    upgrade(engine)
    before, after = [], []
    for _ in range(ROUNDS):  # interleaved, so load changes hit both alike
        before.append(clicks_per_second(engine, OLD))
        after.append(clicks_per_second(engine, NEW))
    b, a = statistics.median(before), statistics.median(after)
    print(
        f"{name}: click writer, batches of {BATCH}: before {b:,.0f} clicks/s, after "
        f"{a:,.0f} clicks/s (after/before {a / b:.2f}; medians of {ROUNDS})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'clicks.db'}")
        run("SQLite", engine)
        engine.dispose()
    if not args.skip_postgres:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/richsms_bench_clicks"
        reset_postgres(url)
        engine = make_engine(url)
        run("PostgreSQL", engine)
        engine.dispose()


if __name__ == "__main__":
    main()
