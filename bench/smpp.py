"""SMPP throughput and rate over one bind to a local SMSC (smpp34's server, with receipts).

    python -m bench.smpp [--count 20000] [--windows 10,100] [--rate 100] [--seconds 60]
                         [--backends sqlite,postgresql]

1. Provider alone: `count` messages handed to the smpp provider in batches of 500, as a
   worker does (on uvloop, as the worker runs it); submits answered per second, and
   messages per second until the last receipt is in (the sink counts receipts only).
2. One worker: `count` queued messages in the outbox (per backend and window), one
   worker with the smpp provider and the database sink; messages/s until every one is
   recorded `sent` (the worker's count of the answers it committed), then until every
   one is `delivered` by its receipt, as the database shows them (polled every 0.1 s
   once all are sent). The database has sent as many before (delivered, with their
   parts, its tables analysed): the steady state of an install, not empty tables.
   Each is also given as a fraction of phase 1's figure, measured in the same run:
   the machines are shared and their speed varies from one hour to the next.
3. Worker processes on PostgreSQL (`--workers 1,2`; 0 to skip): `richsms worker`
   processes, each with its own bind to the same SMSC, send `count` messages due at an
   instant a few seconds ahead (every process bound and idle by then); messages/s until
   every one is delivered, each run as a fraction of the one-process run, and the cores
   used meanwhile: the CPU time of the worker processes, of the SMSC and of PostgreSQL's
   backends serving them, over the wall time. The machine's cores are shared by all
   three (and by whatever else runs): two workers can only carry twice one worker when
   one worker's run leaves at least as many cores idle as it uses.
4. Rate (skipped with --seconds 0): one worker (SQLite) sends `rate` x `seconds` queued
   messages at a default rate of `rate`/s; the figure is the rate the SMSC saw (its own
   timestamps of each accepted submit_sm, after the bucket's first second of burst), and
   its deviation.

The SMSC is tests/sender/delivery/providers/smsc.py in its own process (smpp34's server
under uvloop), on the same cores as the worker: each figure comes with the CPU time per message of
this process (the worker) and of the SMSC, which bound what the machine can carry.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvloop
from sqlalchemy import Engine, func, select, text, update
from sqlmodel import col

from bench.send import enqueue_bulk, fresh_database
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.migrate import upgrade
from richsms.settings import Settings
from sender.delivery.models import DELIVERED, Message
from sender.delivery.provider_events import DatabaseEvents
from sender.delivery.providers.base import Inbound, OutgoingMessage, Receipt, SubmitResult
from sender.delivery.providers.smpp import SmppConfig, SmppProvider
from sender.delivery.worker import Worker, WorkerConfig

ROOT = Path(__file__).resolve().parents[1]
SMSC = ROOT / "tests/sender/delivery/providers/smsc.py"
RICHSMS = Path(sys.executable).parent / "richsms"
BATCH = 500
# Worker processes start and bind before their messages are due.
PROCESS_START = 6.0


class CountingEvents:
    def __init__(self) -> None:
        self.receipts = 0
        self.delivered = 0

    async def receipt(self, receipt: Receipt) -> None:
        await self.receipt_batch([receipt])

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        self.receipts += len(receipts)
        self.delivered += sum(r.state == "delivered" for r in receipts)

    async def inbound(self, message: Inbound) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_smsc(port: int, log: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(SMSC), str(port), str(log), "--receipts", "hex", "--uvloop"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def message(index: int) -> OutgoingMessage:
    return OutgoingMessage(
        id=index,
        phone=f"+336{index:08d}",
        sender="Boutique",
        sender_kind="alphanumeric",
        text=f"Soldes: -20% ce week-end avec le code HIVER{index} https://ex.co/a{index:07d}",
        type="promotional",
        encoding="GSM-7",
        segments=1,
    )


def config(port: int, window: int) -> SmppConfig:
    return SmppConfig(host="127.0.0.1", port=port, system_id="bench", password="bench",
                      window=window)


async def throughput(port: int, smsc_pid: int, count: int, window: int) -> dict[str, float]:
    events = CountingEvents()
    provider = SmppProvider(config(port, window))
    await provider.start(events)
    results: list[SubmitResult] = []
    at_once = asyncio.Semaphore(2)  # two batches at once, as the worker hands them over

    async def hand_over(first: int) -> None:
        async with at_once:
            batch = [message(i) for i in range(first, min(first + BATCH, count))]
            await provider.submit(batch, results.append)

    cpu_before = (time.process_time(), cpu_seconds(smsc_pid))
    started = time.perf_counter()
    await asyncio.gather(*(hand_over(first) for first in range(0, count, BATCH)))
    submitted = time.perf_counter() - started
    while events.receipts < count:
        await asyncio.sleep(0.001)
    received = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_before[0]
    smsc_cpu = cpu_seconds(smsc_pid) - cpu_before[1]
    await provider.close()
    assert sum(r.state == "accepted" for r in results) == count, "not every message accepted"
    return {
        "submit_per_s": count / submitted,
        "with_receipts_per_s": count / received,
        "delivered": float(events.delivered),
        "client_cpu_us": client_cpu / count * 1e6,
        "smsc_cpu_us": smsc_cpu / count * 1e6,
        "cores": (client_cpu + smsc_cpu) / received,
    }


def held_rate(port: int, log: Path, rate: float, seconds: float) -> dict[str, float]:
    """One worker sending queued messages at the configured default rate (its database
    token bucket); the rate as the SMSC saw it, between its first and last submit."""
    engine = make_engine(fresh_database("sqlite"))
    upgrade(engine)
    count = int(rate * seconds)
    enqueue_bulk(engine, count)
    skip = len(log.read_text().splitlines()) if log.exists() else 0
    clock = SystemClock()
    worker = Worker(
        engine,
        SmppProvider(config(port, 10)),
        clock,
        WorkerConfig(default_rate=rate, idle_sleep=0.01),
        events=DatabaseEvents(engine, clock),
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="bench-worker")
    thread.start()
    try:
        deadline = time.monotonic() + seconds * 2 + 10
        while worker.stats.handed < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
        worker.close()
        engine.dispose()
    stamps = sorted(json.loads(line)["at"] for line in log.read_text().splitlines()[skip:])
    # The bucket starts full (one second of burst): measure from the second second on.
    steady = [t for t in stamps if t >= stamps[0] + 1.0]
    seen = (len(steady) - 1) / (steady[-1] - steady[0])
    return {"configured": rate, "seen": seen, "deviation_pct": 100 * (seen - rate) / rate,
            "accepted": float(len(stamps))}


def with_worker(
    port: int, smsc_pid: int, backend: str, count: int, window: int
) -> dict[str, float]:
    engine = make_engine(fresh_database(backend))
    upgrade(engine)
    history = sent_before(engine, count)
    enqueue_bulk(engine, count)
    clock = SystemClock()
    worker = Worker(
        engine,
        SmppProvider(config(port, window)),
        clock,
        WorkerConfig(
            batch_size=Settings.from_mapping({}).worker_batch,  # as `richsms worker` claims
            default_rate=1e9,
            idle_sleep=0.01,
        ),
        events=DatabaseEvents(engine, clock),
    )

    def counted(*states: str) -> int:  # the bench's messages, after those sent before
        with engine.connect() as conn:
            query = select(func.count()).where(
                col(Message.id) > history, col(Message.state).in_(states)
            )
            return int(conn.execute(query).scalar_one())

    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="bench-worker")
    cpu_before = (time.process_time(), cpu_seconds(smsc_pid))
    backends = backend_cpu(engine) if backend == "postgresql" else {}
    database_cpu = 0.0
    started = time.perf_counter()
    thread.start()
    sent_at = delivered_at = None
    try:
        while time.perf_counter() - started < 60 + count / 1000:
            # The worker's own count of answers recorded (committed) while it sends: a
            # query every 0.1 s would take the GIL from it (a seventh of it on PostgreSQL).
            if sent_at is None and worker.stats.sent >= count:
                sent_at = time.perf_counter() - started
            if sent_at is not None and counted(DELIVERED) >= count:
                delivered_at = time.perf_counter() - started
                break
            time.sleep(0.1)
        if backend == "postgresql":  # while the worker's connections are open
            database_cpu = sum(
                cpu - backends.get(pid, 0.0) for pid, cpu in backend_cpu(engine).items()
            )
    finally:
        stop.set()
        thread.join()
        worker.close()
    worker_cpu = time.process_time() - cpu_before[0]
    smsc_cpu = cpu_seconds(smsc_pid) - cpu_before[1]
    delivered = counted(DELIVERED)
    engine.dispose()
    return {
        "sent_per_s": count / sent_at if sent_at else 0.0,
        "delivered_per_s": count / delivered_at if delivered_at else 0.0,
        "delivered": float(delivered),
        "worker_cpu_us": worker_cpu / count * 1e6,
        "smsc_cpu_us": smsc_cpu / count * 1e6,
        "database_cpu_us": database_cpu / count * 1e6,
        "cores": (worker_cpu + smsc_cpu + database_cpu)
        / (delivered_at or time.perf_counter() - started),
    }


def sent_before(engine: Engine, count: int) -> int:
    """`count` delivered messages with their parts, and the tables analysed: a database
    that has sent before, as every one but a new install's holds, not empty tables the
    planner knows nothing of (on PostgreSQL, with no statistics yet, the receipts' and
    claims' statements were planned as scans: a third of the run's time). Returns the
    last of their ids."""
    enqueue_bulk(engine, count)
    with engine.begin() as conn:
        conn.execute(
            update(Message).values(state=DELIVERED, sent_at=func.now(), delivered_at=func.now())
        )
        conn.execute(
            text(
                "INSERT INTO message_part (message_id, provider, provider_id, part, state)"
                " SELECT id, 'smpp', 'before-' || id, 1, 'delivered' FROM message"
            )
        )
        last = int(conn.execute(select(func.max(col(Message.id)))).scalar_one() or 0)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))  # what autovacuum (PostgreSQL) would have done by now
    return last


def backend_cpu(engine: Engine) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving `engine`'s database."""
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        return {int(pid): cpu_seconds(int(pid)) for pid in pids}


def with_processes(
    port: int, smsc_pid: int, count: int, window: int, workers: int, log_dir: Path
) -> dict[str, float]:
    """`workers` `richsms worker` processes on PostgreSQL, each over its own bind."""
    url = fresh_database("postgresql")
    engine = make_engine(url)
    upgrade(engine)
    history = sent_before(engine, count)
    due = datetime.now(UTC) + timedelta(seconds=PROCESS_START)
    enqueue_bulk(engine, count, due=due)
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": url,
        "RICHSMS_SECRET_KEY": "bench-" + "0" * 40,
        "RICHSMS_PROVIDER": "smpp",
        "RICHSMS_SMPP_PORT": str(port),
        "RICHSMS_SMPP_WINDOW": str(window),
        "RICHSMS_DEFAULT_RATE": "1000000000",
    }
    processes = [
        subprocess.Popen(
            [str(RICHSMS), "worker"],
            env=env,
            cwd=log_dir,
            stdout=subprocess.DEVNULL,
            stderr=(log_dir / f"worker-{workers}-{n}.log").open("wb"),
        )
        for n in range(workers)
    ]

    def delivered() -> int:
        with engine.connect() as conn:
            query = select(func.count()).where(
                col(Message.id) > history, col(Message.state) == DELIVERED
            )
            return int(conn.execute(query).scalar_one())

    try:
        while (left := (due - datetime.now(UTC)).total_seconds()) > 0:
            time.sleep(min(left, 0.05))
        started = time.perf_counter()
        before = {
            "workers": sum(cpu_seconds(p.pid) for p in processes),
            "smsc": cpu_seconds(smsc_pid),
        }
        backends = backend_cpu(engine)
        took = None
        while time.perf_counter() - started < 60 + count / 200:
            if delivered() >= count:
                took = time.perf_counter() - started
                break
            time.sleep(0.1)
        wall = took or time.perf_counter() - started
        worker_cpu = sum(cpu_seconds(p.pid) for p in processes) - before["workers"]
        smsc_cpu = cpu_seconds(smsc_pid) - before["smsc"]
        database_cpu = sum(
            cpu - backends.get(pid, 0.0) for pid, cpu in backend_cpu(engine).items()
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    done = delivered()
    engine.dispose()
    return {
        "delivered_per_s": count / took if took else 0.0,
        "delivered": float(done),
        "worker_cpu_us": worker_cpu / count * 1e6,
        "smsc_cpu_us": smsc_cpu / count * 1e6,
        "database_cpu_us": database_cpu / count * 1e6,
        "cores": (worker_cpu + smsc_cpu + database_cpu) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--windows", default="10,100", help="windows of the worker runs")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--workers", default="1,2", help="worker processes on PostgreSQL (0: skip)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "smsc.jsonl"
        port = free_port()
        smsc = start_smsc(port, log)
        try:
            windows = [int(w) for w in args.windows.split(",")]
            figures = uvloop.run(throughput(port, smsc.pid, args.count, windows[0]))
            print(
                f"provider alone (no database), window {windows[0]}: "
                f"{figures['submit_per_s']:,.0f} submits/s; "
                f"{figures['with_receipts_per_s']:,.0f} messages/s with every receipt in "
                f"({figures['delivered']:,.0f} delivered); CPU per message: client "
                f"{figures['client_cpu_us']:,.0f} µs, SMSC {figures['smsc_cpu_us']:,.0f} µs "
                f"({figures['cores']:.2f} of {os.cpu_count()} cores busy)",
                flush=True,
            )
            for backend in args.backends.split(","):
                for window in windows:
                    run = with_worker(port, smsc.pid, backend, args.count, window)
                    print(
                        f"[{backend}] one worker, window {window}: {run['sent_per_s']:,.0f} "
                        f"messages/s recorded sent; {run['delivered_per_s']:,.0f} messages/s "
                        f"until every one was delivered ({run['delivered']:,.0f} delivered, "
                        f"{run['delivered_per_s'] / figures['with_receipts_per_s']:.2f} of "
                        "the provider alone); "
                        f"CPU per message: worker {run['worker_cpu_us']:,.0f} µs, "
                        f"SMSC {run['smsc_cpu_us']:,.0f} µs"
                        + (
                            f", PostgreSQL {run['database_cpu_us']:,.0f} µs"
                            if backend == "postgresql"
                            else ""
                        )
                        + f" ({run['cores']:.2f} cores busy)",
                        flush=True,
                    )
            counts = [int(n) for n in args.workers.split(",") if int(n) > 0]
            if counts:
                print(
                    f"worker processes on PostgreSQL, window {windows[0]}: the machine's "
                    f"{os.cpu_count()} cores carry them, the SMSC, PostgreSQL and this bench "
                    f"(load average {os.getloadavg()[0]:.1f} before)",
                    flush=True,
                )
            first: float | None = None
            for workers in counts:
                run = with_processes(port, smsc.pid, args.count, windows[0], workers, Path(tmp))
                first = first or run["delivered_per_s"] or None
                print(
                    f"[postgresql] {workers} worker process{'es' if workers > 1 else ''}: "
                    f"{run['delivered_per_s']:,.0f} messages/s until every one was delivered "
                    f"({run['delivered']:,.0f} delivered, "
                    f"{run['delivered_per_s'] / figures['with_receipts_per_s']:.2f} of the "
                    f"provider alone, {run['delivered_per_s'] / (first or 1):.2f} of one worker "
                    "process); CPU per message: workers "
                    f"{run['worker_cpu_us']:,.0f} µs, SMSC {run['smsc_cpu_us']:,.0f} µs, "
                    f"PostgreSQL {run['database_cpu_us']:,.0f} µs; "
                    f"{run['cores']:.2f} of {os.cpu_count()} cores used",
                    flush=True,
                )
            if args.seconds <= 0:
                return
            rate = held_rate(port, log, args.rate, args.seconds)
            print(
                f"one worker's rate over {args.seconds:.0f} s: configured "
                f"{rate['configured']:.0f}/s, "
                f"the SMSC saw {rate['seen']:.2f}/s ({rate['deviation_pct']:+.2f}%), "
                f"{rate['accepted']:,.0f} accepted"
            )
        finally:
            smsc.kill()
            smsc.wait()


if __name__ == "__main__":
    main()
