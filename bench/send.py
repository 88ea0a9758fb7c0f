"""Sending throughput: how fast one worker empties the outbox into the console provider.

    python -m bench.send [--count 200000] [--backends sqlite,postgresql] [--batch-size 50]

N messages are bulk-inserted as queued, then one in-process worker (the console provider,
no log file, rate set far above what it can reach) claims, hands over and records them
until none is left. The figure is messages handed over and recorded `sent` per second:
the cost of the outbox itself (claim transaction, per-message consent and quiet-hours
checks, recording the answers), since the console provider costs next to nothing. The
console logger is quietened while measuring, so the terminal is not what is measured.

PostgreSQL uses its own database (created if missing, its schema reset), never `test`.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, text
from sqlmodel import col

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.migrate import upgrade
from sender.models import QUEUED, SENDING, SENT, Message
from sender.providers.console import ConsoleProvider
from sender.worker import Worker

BENCH_SENDER = "BENCH"  # the bench's messages, apart from anything else in the outbox
INSERT_CHUNK = 20_000


def measure_send(
    database_url: str, count: int, *, batch_size: int = 50, vacuum_every: int | None = None
) -> dict[str, object]:
    """Enqueue `count` messages in the database at `database_url` (migrated if needed; its
    other rows are left alone) and time one worker sending them all.

    `vacuum_every` (PostgreSQL): VACUUM the outbox after each that many messages, as an
    autovacuum tuned for the outbox would. Each claimed message leaves a dead entry in the
    (state, due_at) index that every later claim steps over until a vacuum removes it, so
    without it a burst of a few hundred thousand messages slows down as it goes.
    """
    engine = make_engine(database_url)
    upgrade(engine)
    started = time.perf_counter()
    enqueue_bulk(engine, count)
    inserted = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk insert: without statistics the
        # planner sorts every due row to claim 50.
        with engine.begin() as conn:
            conn.execute(text("ANALYZE message"))
    worker = Worker(
        engine, ConsoleProvider(), SystemClock(), batch_size=batch_size, default_rate=1e9
    )
    console = logging.getLogger("richsms.console")
    level = console.level
    console.setLevel(logging.WARNING)
    try:
        started = time.perf_counter()
        vacuumed = 0
        while worker.stats.handed < count or remaining(engine):
            worker.run_once()
            if vacuum_every and worker.stats.handed - vacuumed >= vacuum_every:
                vacuumed = worker.stats.handed
                vacuum(engine)
        seconds = time.perf_counter() - started
    finally:
        console.setLevel(level)
        worker.close()
    with engine.begin() as conn:
        sent = conn.execute(
            select(func.count()).where(
                col(Message.sender) == BENCH_SENDER, col(Message.state) == SENT
            )
        ).scalar_one()
    engine.dispose()
    return {
        "backend": engine.dialect.name,
        "messages": count,
        "sent": int(sent),
        "batch_size": batch_size,
        "vacuum_every": vacuum_every,
        "insert_seconds": round(inserted, 2),
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds),
    }


def enqueue_bulk(engine: Engine, count: int) -> None:
    """Queued messages due now, inserted in large multi-row batches."""
    now = datetime.now(UTC)
    template = {
        "type": "informational",
        "state": QUEUED,
        "due_at": now,
        "planned_at": now,
        "queued_at": now,
        "sender": BENCH_SENDER,
        "encoding": "GSM-7",
        "segments": 1,
        "is_test": False,
        "window": "",
        "timezones": "",
    }
    for start in range(0, count, INSERT_CHUNK):
        rows = [
            {
                **template,
                "phone": f"+336{n:08d}",
                "text": f"Bonjour, -20% ce week-end avec le code BENCH{n}: https://ex.co/a{n:06d}",
            }
            for n in range(start, min(count, start + INSERT_CHUNK))
        ]
        with engine.begin() as conn:
            conn.execute(insert(Message), rows)


def vacuum(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (SKIP_LOCKED) message"))


def remaining(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    col(Message.sender) == BENCH_SENDER,
                    col(Message.state).in_((QUEUED, SENDING)),
                )
            ).scalar_one()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--vacuum-every", type=int, default=0, help="PostgreSQL: VACUUM after N messages"
    )
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='richsms-send-')) / 'bench.db'}"
        else:
            url = POSTGRES_URL
            reset_postgres(url)
        result = measure_send(
            url, args.count, batch_size=args.batch_size, vacuum_every=args.vacuum_every or None
        )
        print(
            f"[{backend}] {result['sent']:,} of {result['messages']:,} messages sent in "
            f"{result['seconds']} s: {result['per_second']:,} messages/s "
            f"(batches of {result['batch_size']}"
            + (f", VACUUM every {args.vacuum_every:,}" if args.vacuum_every else "")
            + f"; inserting took {result['insert_seconds']} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
