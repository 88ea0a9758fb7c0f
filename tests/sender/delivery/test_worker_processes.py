"""Real `richsms worker` processes, killed and restarted: no message is ever sent twice.

The console provider appends one JSON line per message it is handed to a file
(RICHSMS_CONSOLE_LOG), written before it reports the message accepted: counting the lines
per message id counts the deliveries, whatever happened to the process afterwards. It
also reports each message delivered, so a message the outbox holds as delivered went
through the whole path: claim, hand-over, answer, receipt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import col

from richsms.settings import Settings
from sender.delivery.models import DELIVERED, QUEUED, SENDING, UNKNOWN, Message
from sender.delivery.providers.console import ConsoleProvider, read_log
from sender.delivery.worker import Worker, WorkerConfig
from tests.clock import FrozenClock

RICHSMS = str(Path(sys.executable).with_name("richsms"))
DEADLINE = 60.0  # seconds: no wait in these tests is unbounded (generous: machines are busy)


def seed(engine: Engine, count: int) -> None:
    now = datetime.now(UTC)
    row = {
        "phone": "+33600000000",
        "text": "Soldes -20%",
        "type": "informational",
        "state": QUEUED,
        "due_at": now,
        "planned_at": now,
        "queued_at": now,
        "sender": "",
        "encoding": "GSM-7",
        "segments": 1,
        "is_test": False,
        "window": "",
        "timezones": "",
    }
    with engine.begin() as conn:
        conn.execute(insert(Message), [row] * count)


def start_worker(
    settings: Settings, tmp_path: Path, name: str, rate: int
) -> tuple[subprocess.Popen[bytes], Path]:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
        "RICHSMS_CONSOLE_LOG": str(tmp_path / "deliveries.jsonl"),
        "RICHSMS_DEFAULT_RATE": str(rate),
        "RICHSMS_WORKER_BATCH": "50",
    }
    stderr = tmp_path / f"{name}.log"
    with stderr.open("wb") as sink:  # the child keeps its own copy of the descriptor
        worker = subprocess.Popen(
            [RICHSMS, "worker"],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    wait_for(lambda: "started" in stderr.read_text(), worker, stderr)
    return worker, stderr


def wait_for(condition: object, *workers_and_log: object) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        for worker in workers_and_log:
            if isinstance(worker, subprocess.Popen) and worker.poll() is not None:
                logs = [p.read_text() for p in workers_and_log if isinstance(p, Path)]
                raise AssertionError(f"a worker exited early: {logs}")
        time.sleep(0.02)
    raise AssertionError("timed out")


def deliveries(tmp_path: Path) -> Counter[int]:
    return Counter(int(str(line["id"])) for line in read_log(tmp_path / "deliveries.jsonl"))


def handed(tmp_path: Path) -> int:
    """How many messages were handed to the provider so far (cheaper than `deliveries`)."""
    path = tmp_path / "deliveries.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def states(engine: Engine) -> Counter[str]:
    with engine.begin() as conn:
        rows = conn.execute(
            select(col(Message.state), func.count()).group_by(col(Message.state))
        ).all()
    return Counter({state: int(n) for state, n in rows})


def final_states(engine: Engine) -> dict[int, str]:
    with engine.begin() as conn:
        rows = conn.execute(select(col(Message.id), col(Message.state))).all()
    return {int(i): state for i, state in rows if i is not None}


def kill(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=DEADLINE)


def test_a_worker_killed_and_restarted_sends_nothing_twice(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    total = 6_000
    seed(engine, total)
    # 1. Killed with SIGKILL in the middle of the run: as fast as it goes, it nearly always
    # has a batch in hand, and we wait until we see one.
    worker, _ = start_worker(settings, tmp_path, "first", rate=1_000_000)
    try:
        wait_for(
            lambda: (
                handed(tmp_path) >= 300 and states(engine)[SENDING] > 0 or handed(tmp_path) >= 3000
            ),
            worker,
        )
    finally:
        kill(worker)
    assert states(engine)[QUEUED] > 0  # killed mid-run indeed
    # 2. Restarted, then stopped with SIGTERM: it finishes the message in hand, returns
    # what it had claimed but not handed over, and exits 0.
    worker, _ = start_worker(settings, tmp_path, "second", rate=2000)
    try:
        before = handed(tmp_path)
        wait_for(lambda: handed(tmp_path) >= before + 300, worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=DEADLINE) == 0
    finally:
        kill(worker)
    if engine.dialect.name == "sqlite":
        # The restart found the first worker's claims and marked them unknown at once.
        assert states(engine)[SENDING] == 0
    assert states(engine)[QUEUED] > 0
    stale = states(engine)[SENDING]  # on PostgreSQL, the first worker's claims
    # 3. Restarted again, it finishes the queue.
    worker, _ = start_worker(settings, tmp_path, "third", rate=1_000_000)
    try:
        wait_for(lambda: states(engine)[QUEUED] == 0 and states(engine)[SENDING] == stale, worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=DEADLINE) == 0
    finally:
        kill(worker)
    if engine.dialect.name == "postgresql":
        # Other workers may be alive: the dead one's claims wait for their lease to end.
        later = FrozenClock(datetime.now(UTC) + timedelta(minutes=6))
        Worker(engine, ConsoleProvider(), later, WorkerConfig(lease=timedelta(minutes=5))).sweep()

    sent = deliveries(tmp_path)
    assert max(sent.values()) == 1, "a message was handed to the provider twice"
    outcome = final_states(engine)
    assert len(outcome) == total
    assert set(outcome.values()) <= {DELIVERED, UNKNOWN}
    for message_id, state in outcome.items():
        if state == DELIVERED:
            assert sent[message_id] == 1
    unknown = [i for i, state in outcome.items() if state == UNKNOWN]
    # At most three batches of 50: the two handed over at once (each then recording its
    # answers) and the one claimed ahead (prefetch 1).
    assert len(unknown) <= 150
    assert sum(sent.values()) + len(unknown) >= total


@pytest.mark.postgres_only
def test_several_workers_at_once_never_claim_a_message_twice(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    assert engine.dialect.name == "postgresql"
    workers = [start_worker(settings, tmp_path, f"w{n}", rate=4000)[0] for n in range(3)]
    try:
        total = 6000
        seed(engine, total)  # all three are polling already
        wait_for(lambda: states(engine)[DELIVERED] == total, *workers)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        assert [worker.wait(timeout=DEADLINE) for worker in workers] == [0, 0, 0]
    finally:
        for worker in workers:
            kill(worker)
    sent = deliveries(tmp_path)
    assert len(sent) == total and max(sent.values()) == 1
    with engine.begin() as conn:
        claimers = conn.execute(
            select(col(Message.claimed_by), func.count()).group_by(col(Message.claimed_by))
        ).all()
    assert len(claimers) >= 2, claimers  # they did share the work
