"""Hand-over throughput: one worker, a provider that takes `latency` per answer, a window.

    python -m bench.send [--count 3000] [--latency 0.005] [--windows 1,10]
                         [--backends sqlite,postgresql] [--batch-size 50] [--console]

For each database and each window, N messages are bulk-inserted as queued, then one
in-process worker (running as `richsms worker` does: claims ahead while a batch is handed
over) hands them to the fault provider, which answers each after `latency` seconds and
keeps up to `window` in flight; rate limits are set far above what it can reach. The
figure is messages handed over and recorded `sent` per second, next to the ceiling the
provider allows (window / latency: 200/s with one message at a time and 5 ms, 2,000/s
with a window of 10). `--console` adds the console provider (no latency, a receipt per
message): the cost of the outbox itself.

PostgreSQL uses its own database (created if missing, its schema reset), never `test`.
On a machine busy with other work the worker is starved of CPU and the figure says more
about the machine than about the pipeline: `chrt -f 10 python -m bench.send` gives the
bench process a core of its own (the database server still shares the rest).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, text
from sqlmodel import col

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.migrate import upgrade
from sender.delivery.models import DELIVERED, QUEUED, SENT, Message
from sender.delivery.providers import Provider
from sender.delivery.providers.console import ConsoleProvider
from sender.delivery.worker import Worker, WorkerConfig
from tests.sender.delivery.providers.fault import FaultProvider

BENCH_SENDER = "BENCH"  # the bench's messages, apart from anything else in the outbox
INSERT_CHUNK = 20_000


def measure_send(
    database_url: str, count: int, provider: Provider, *, batch_size: int = 50
) -> dict[str, object]:
    """Enqueue `count` messages in the database at `database_url` (migrated if needed)
    and time one worker handing them all to `provider` and recording the answers."""
    engine = make_engine(database_url)
    upgrade(engine)
    enqueue_bulk(engine, count)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # what autovacuum does soon after a bulk insert
            conn.execute(text("ANALYZE message"))
    worker = Worker(
        engine,
        provider,
        SystemClock(),
        WorkerConfig(batch_size=batch_size, default_rate=1e9, idle_sleep=0.01),
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="bench-worker")
    console = logging.getLogger("richsms.console")
    level = console.level
    console.setLevel(logging.WARNING)
    started = time.perf_counter()
    thread.start()
    try:
        while worker.stats.handed < count and thread.is_alive():
            time.sleep(0.005)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        thread.join()
        worker.close()
        console.setLevel(level)
    with engine.begin() as conn:
        recorded = conn.execute(
            select(func.count()).where(
                col(Message.sender) == BENCH_SENDER, col(Message.state).in_((SENT, DELIVERED))
            )
        ).scalar_one()
    engine.dispose()
    return {
        "messages": count,
        "recorded": int(recorded),
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds),
    }


def enqueue_bulk(engine: Engine, count: int, due: datetime | None = None) -> None:
    """Queued messages due now (or at `due`), inserted in large multi-row batches."""
    now = datetime.now(UTC)
    template = {
        "type": "informational",
        "state": QUEUED,
        "due_at": due or now,
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


def fresh_database(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='richsms-send-')) / 'bench.db'}"
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per answer")
    parser.add_argument("--windows", default="1,10")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--console", action="store_true", help="also the console provider")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        runs: list[tuple[str, Provider]] = [
            (
                f"window {window:>2}, {args.latency * 1000:g} ms per answer "
                f"(ceiling {window / args.latency:,.0f}/s)",
                FaultProvider(latency=args.latency, window=window),
            )
            for window in (int(w) for w in args.windows.split(","))
        ]
        if args.console:
            runs.append(("console provider, a receipt per message", ConsoleProvider()))
        for label, provider in runs:
            result = measure_send(
                fresh_database(backend), args.count, provider, batch_size=args.batch_size
            )
            print(
                f"[{backend}] {label}: {result['per_second']:,} messages/s "
                f"({result['recorded']:,} of {result['messages']:,} recorded in "
                f"{result['seconds']} s, batches of {args.batch_size})",
                flush=True,
            )


if __name__ == "__main__":
    main()
