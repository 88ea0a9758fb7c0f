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
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import col

from richsms.settings import Settings
from sender.delivery.models import DELIVERED, QUEUED, SENDING, SENT, UNKNOWN, Message
from sender.delivery.providers.console import read_log
from tests.sender.delivery.providers.peers import Smsc

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
        # A dead worker's claims are taken over within seconds (20 s by default).
        "RICHSMS_WORKER_ALIVE_SECONDS": "4",
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


def nothing_left(engine: Engine) -> bool:
    """No message queued or sending, read at one moment: counted in two reads, a dead
    worker's claim taken over in between (sending → queued) went uncounted, and the
    test stopped the worker with messages still queued."""
    left = states(engine)
    return left[QUEUED] + left[SENDING] == 0


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
    first = worker.pid
    assert states(engine)[QUEUED] > 0  # killed mid-run indeed
    # 2. Restarted, it takes the dead worker's claims over (at once on SQLite, once its
    # lease has run out on PostgreSQL); then stopped with SIGTERM, it finishes what is on
    # the wire, returns what it claimed and did not hand over, and exits 0.
    # Slow enough that the queue is not empty yet when the takeover has happened.
    worker, _ = start_worker(settings, tmp_path, "second", rate=200)
    try:
        before = handed(tmp_path)
        wait_for(lambda: handed(tmp_path) >= before + 300 and claims_of(engine, first) == 0, worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=DEADLINE) == 0
    finally:
        kill(worker)
    assert states(engine)[SENDING] == 0
    assert states(engine)[QUEUED] > 0
    # 3. Restarted again, it finishes the queue.
    worker, _ = start_worker(settings, tmp_path, "third", rate=1_000_000)
    try:
        wait_for(lambda: nothing_left(engine), worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=DEADLINE) == 0
    finally:
        kill(worker)

    sent = deliveries(tmp_path)
    assert max(sent.values()) == 1, "a message was handed to the provider twice"
    outcome = final_states(engine)
    assert len(outcome) == total
    assert set(outcome.values()) <= {DELIVERED, UNKNOWN}
    for message_id, state in outcome.items():
        if state == DELIVERED:
            assert sent[message_id] == 1
    unknown = [i for i, state in outcome.items() if state == UNKNOWN]
    # Only what the dead worker had noted as going to the provider: the two batches it was
    # handing over (answers not recorded yet), never the one it had claimed ahead.
    assert len(unknown) <= 100
    assert sum(sent.values()) + len(unknown) >= total


def claims_of(engine: Engine, pid: int | None) -> int:
    """Messages still claimed by the worker process `pid`."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(Message)
                .where(col(Message.state) == SENDING, col(Message.claimed_by).contains(f":{pid}:"))
            ).scalar_one()
        )


def smpp_worker(
    settings: Settings, tmp_path: Path, name: str, smsc: Smsc
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
        "RICHSMS_PROVIDER": "smpp",
        "RICHSMS_SMPP_PORT": str(smsc.port),
        "RICHSMS_SMPP_WINDOW": "10",
        "RICHSMS_WORKER_BATCH": "50",
        "RICHSMS_DEFAULT_RATE": "1000000",
        "RICHSMS_WORKER_ALIVE_SECONDS": "4",
    }
    with (tmp_path / f"{name}.log").open("wb") as sink:
        return subprocess.Popen(
            [RICHSMS, "worker"],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def test_a_dead_worker_leaves_unknown_only_what_the_smsc_may_have_seen(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """An SMSC that stops answering after 120 submits holds the worker's window full; the
    worker is killed there, with batches claimed and handed over halfway. A second worker
    against another SMSC sends the rest: nobody gets a message twice, what the first SMSC
    never saw is sent, and `unknown` is what it saw unanswered, and at most a window more
    (the handfuls noted ahead of the wire)."""
    total = 400
    now = datetime.now(UTC)
    phones = [f"+3361{n:07d}" for n in range(total)]
    with engine.begin() as conn:
        conn.execute(
            insert(Message),
            [
                {
                    "phone": phone,
                    "text": "Soldes",
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
                for phone in phones
            ],
        )
    holding = Smsc(tmp_path / "holding.jsonl").start("--hold-after", "120")
    second = Smsc(tmp_path / "second.jsonl").start()
    try:
        worker = smpp_worker(settings, tmp_path, "first", holding)
        try:
            wait_for(lambda: len(holding.held()) >= 10, worker)  # its window is full
        finally:
            kill(worker)
        seen = [str(m["to"]) for m in holding.accepted() + holding.held()]
        assert len(seen) == 130 == len(set(seen))
        worker = smpp_worker(settings, tmp_path, "second", second)
        try:
            wait_for(lambda: nothing_left(engine), worker)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=DEADLINE) == 0
        finally:
            kill(worker)
        resent = [str(m["to"]) for m in second.accepted()]
    finally:
        holding.kill()
        second.kill()
    digits = {phone: phone.lstrip("+") for phone in phones}
    assert len(resent) == len(set(resent))
    assert not set(seen) & set(resent), "a recipient got the message twice"
    with engine.begin() as conn:
        rows = conn.execute(select(col(Message.phone), col(Message.state))).all()
    state_of = {digits[phone]: state for phone, state in rows}
    unknown = {to for to, state in state_of.items() if state == UNKNOWN}
    held = {str(m["to"]) for m in holding.held()}
    assert held <= unknown  # seen, never answered: may have been sent
    assert len(unknown - set(seen)) <= 10  # noted ahead of the wire: two handfuls at most
    never_seen = set(state_of) - set(seen) - unknown
    # Queued again and sent by the second worker, once (else: what became of the others).
    assert never_seen == set(resent), {to: state_of[to] for to in never_seen ^ set(resent)}
    assert {state_of[to] for to in never_seen | (set(seen) - unknown)} == {SENT}


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
