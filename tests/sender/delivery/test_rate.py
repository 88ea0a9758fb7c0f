"""Rates held across workers: token buckets in the database, measured over a simulated
minute with a frozen clock and two workers taking turns."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import col

from richsms.db import session_scope
from sender.campaigns.models import Campaign
from sender.delivery.models import QUEUED, SENT, Message, SenderNumber
from sender.delivery.rate import Budget, Limit, capacity, lock_budget, refill
from sender.delivery.worker import Worker, WorkerConfig
from tests.clock import FrozenClock
from tests.sender.delivery.providers.fault import FaultProvider

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_refill_adds_the_rate_up_to_the_capacity() -> None:
    assert refill(0.0, T0, T0 + timedelta(seconds=0.5), 10, 10) == (
        5.0,
        T0 + timedelta(seconds=0.5),
    )
    assert refill(8.0, T0, T0 + timedelta(seconds=5), 10, 10)[0] == 10.0
    # A worker whose clock is behind adds nothing and does not move the count back.
    assert refill(3.0, T0, T0 - timedelta(seconds=2), 10, 10) == (3.0, T0)
    assert capacity(0.2, 1.0) == 1.0  # always room for one message
    assert capacity(50, 2.0) == 100


def test_a_budget_is_the_tightest_of_its_buckets() -> None:
    limits = [Limit("campaign:1", 50), Limit("sender:36111", 20)]
    budget = Budget(
        limits, {"campaign:1": 7.5, "sender:36111": 3.9}, {"campaign:1": T0, "sender:36111": T0}
    )
    assert budget.available == 3
    budget = Budget(
        limits, {"campaign:1": 0.5, "sender:36111": 0.0}, {"campaign:1": T0, "sender:36111": T0}
    )
    assert budget.available == 0
    assert budget.wait() == pytest.approx(1 / 20)  # the sender's bucket is the slower


def test_buckets_are_shared_through_the_database(engine: Engine) -> None:
    limits = [Limit("default", 10)]
    with engine.begin() as conn:
        budget = lock_budget(conn, limits, T0, burst=1.0)
        assert budget.available == 10  # a new bucket starts full
        budget.spend(conn, 7)
        with pytest.raises(ValueError):
            budget.spend(conn, 4)
    with engine.begin() as conn:  # another worker, a quarter of a second later
        budget = lock_budget(conn, limits, T0 + timedelta(seconds=0.25), burst=1.0)
        assert budget.tokens["default"] == pytest.approx(3 + 2.5)
        assert budget.available == 5


def seed(engine: Engine, count: int, **columns: object) -> None:
    row = {
        "phone": "+33600000000",
        "text": "Soldes",
        "type": "informational",
        "state": QUEUED,
        "due_at": T0,
        "planned_at": T0,
        "queued_at": T0,
        "sender": "",
        "encoding": "GSM-7",
        "segments": 1,
        "is_test": False,
        "window": "",
        "timezones": "",
        **columns,
    }
    with engine.begin() as conn:
        conn.execute(insert(Message), [row] * count)


def add_campaign(engine: Engine, rate: float, sender_id: int | None = None) -> int:
    with session_scope(engine) as session:
        campaign = Campaign(
            name="Soldes",
            type="informational",
            template="Soldes",
            rate=rate,
            sender_id=sender_id,
            created_at=T0,
            updated_at=T0,
        )
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        return campaign.id


def add_sender(engine: Engine, value: str, rate: float) -> int:
    with session_scope(engine) as session:
        number = SenderNumber(kind="short_code", value=value, rate=rate, created_at=T0)
        session.add(number)
        session.flush()
        assert number.id is not None
        return number.id


def simulate_a_minute(engine: Engine, step: float = 0.25) -> tuple[Counter[int], Counter[str]]:
    """Two workers take turns, each after `step` seconds; returns the messages sent in
    each second of the minute, and by each worker."""
    clock = FrozenClock(T0)
    workers = [
        Worker(
            engine, FaultProvider(latency=0), clock, WorkerConfig(worker_id=f"w{n}", default_rate=1)
        )
        for n in (1, 2)
    ]
    end = T0 + timedelta(seconds=60)
    while clock.now() < end:
        for worker in workers:
            worker.run_once()
            clock.advance(timedelta(seconds=step))
    with engine.begin() as conn:
        rows = conn.execute(
            select(col(Message.sent_at), col(Message.claimed_by)).where(
                col(Message.state) == SENT, col(Message.sent_at) < end
            )
        ).all()
    per_second: Counter[int] = Counter()
    per_worker: Counter[str] = Counter()
    for sent_at, worker_id in rows:
        assert sent_at is not None and worker_id is not None
        per_second[int((sent_at - T0).total_seconds())] += 1
        per_worker[worker_id] += 1
    return per_second, per_worker


def assert_rate(per_second: Counter[int], rate: float) -> None:
    average = sum(per_second.values()) / 60
    assert abs(average - rate) <= 0.05 * rate, (average, rate)
    # After the first second (a new bucket starts full), every second is on the rate.
    for second in range(1, 60):
        assert abs(per_second[second] - rate) <= 0.05 * rate, (second, per_second[second])


def test_two_workers_hold_a_campaigns_rate(engine: Engine) -> None:
    campaign_id = add_campaign(engine, rate=20)
    seed(engine, 1500, campaign_id=campaign_id)
    per_second, per_worker = simulate_a_minute(engine)
    assert_rate(per_second, 20)
    assert per_worker["w1"] > 400 and per_worker["w2"] > 400  # both took their share


def test_a_campaign_goes_no_faster_than_its_sender_number_shared_with_unitary_sends(
    engine: Engine,
) -> None:
    sender_id = add_sender(engine, "36111", rate=20)
    campaign_id = add_campaign(engine, rate=50, sender_id=sender_id)
    seed(engine, 1000, campaign_id=campaign_id)
    seed(engine, 1000, sender="36111", type="administrative")  # unitary, same number
    per_second, _ = simulate_a_minute(engine)
    assert_rate(per_second, 20)
    with engine.begin() as conn:
        by_group = dict(
            conn.execute(
                select(col(Message.campaign_id), func.count())
                .where(col(Message.state) == SENT)
                .group_by(col(Message.campaign_id))
            ).all()
        )
    assert by_group[campaign_id] > 500 and by_group[None] > 500  # they take turns
