"""The worker with a provider that keeps a window in flight (the fault provider), on both
databases: the window is used, scripted answers are recorded, the next batch is claimed
while one is handed over, and what carried each message is recorded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from richsms.db import session_scope
from richsms.settings import ConfigError, Settings
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.delivery.handover import Handing, submit
from sender.delivery.models import FAILED, QUEUED, SENDING, SENT, UNKNOWN, Message, SenderNumber
from sender.delivery.providers import (
    OutgoingMessage,
    ProviderEvents,
    ProviderHealth,
    Report,
    SubmitResult,
    provider_from_settings,
)
from sender.delivery.worker import Worker, WorkerConfig
from tests.clock import FrozenClock
from tests.sender.delivery.providers import fault as fault_module
from tests.sender.delivery.providers.fault import FaultProvider
from tests.sender.delivery.test_outbox import add, load


def count(engine: Engine, state: str) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(Message).where(col(Message.state) == state)
            ).scalar_one()
        )


def run_until_sent(worker: Worker, engine: Engine, sent: int) -> None:
    """Run `worker` in a thread until `sent` messages are sent (30 s at most), then stop
    and close it."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while count(engine, SENT) < sent and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
    worker.close()


@pytest.mark.parametrize("window", [1, 10])
def test_the_provider_keeps_its_window_in_flight(
    engine: Engine, clock: FrozenClock, window: int
) -> None:
    ids = add(engine, clock, 30)
    # Answers slower than noting a handover, as an SMSC's are (bench.smpp measures the rest).
    provider = FaultProvider(latency=0.05, window=window)
    worker = Worker(engine, provider, clock, WorkerConfig(batch_size=30, default_rate=1000))
    assert worker.run_once() == 30
    assert provider.max_in_flight == window  # never more, and all of it was used
    # Handed over half a window at a time, each handful noted first (leases.py).
    assert provider.submits == -(-30 // max(1, window // 2))
    assert {load(engine, i).state for i in ids} == {SENT}
    assert load(engine, ids[0]).provider_id == f"fault-{ids[0]}"


def test_scripted_answers_are_recorded_as_they_come(engine: Engine, clock: FrozenClock) -> None:
    accepted, refused, throttled, lost = add(engine, clock, 4)
    provider = FaultProvider(
        latency=0.001,
        window=4,
        answers={refused: "failed", throttled: "retry", lost: "unknown"},
        retry_after=300,
    )
    worker = Worker(engine, provider, clock, WorkerConfig(default_rate=1000))
    assert worker.run_once() == 4
    assert load(engine, accepted).state == SENT
    assert (load(engine, refused).state, load(engine, refused).error) == (
        FAILED,
        "scripted failure",
    )
    again = load(engine, throttled)
    assert (again.state, again.due_at) == (QUEUED, clock.now() + timedelta(seconds=300))
    assert load(engine, lost).state == UNKNOWN
    provider.answers.clear()
    clock.advance(timedelta(seconds=300))
    assert worker.run_once() == 1  # the retried one; the unknown one is never resent
    assert load(engine, throttled).state == SENT
    assert [m.id for m in provider.handed].count(lost) == 1


def test_a_provider_silent_past_half_the_lease_leaves_its_batch_unknown(
    engine: Engine, clock: FrozenClock
) -> None:
    ids = add(engine, clock, 3)
    provider = FaultProvider(latency=30, window=3)
    worker = Worker(
        engine, provider, clock, WorkerConfig(lease=timedelta(seconds=0.4), default_rate=1000)
    )
    assert worker.run_once() == 3
    for message_id in ids:
        lost = load(engine, message_id)
        assert lost.state == UNKNOWN
        assert lost.error is not None and "no answer from the provider within 0.2 s" in lost.error


def test_batches_handed_over_at_once_share_the_window(engine: Engine, clock: FrozenClock) -> None:
    add(engine, clock, 30)
    # Answers slower than noting a handover (one message here: half a window of 3), as an
    # SMSC's are: the window is full whenever two batches are being handed over.
    provider = FaultProvider(latency=0.05, window=3)
    worker = Worker(
        engine, provider, clock, WorkerConfig(batch_size=5, default_rate=1000, idle_sleep=0.01)
    )
    run_until_sent(worker, engine, 30)
    assert count(engine, SENT) == 30
    assert provider.submits == 30  # a handful is half the window: one message here
    assert provider.max_in_flight == 3  # two batches at once, never more than the window


def test_two_batches_are_handed_over_at_once_and_the_next_is_claimed_meanwhile(
    engine: Engine, clock: FrozenClock
) -> None:
    """So that the window does not drain between batches; and no more than that is
    claimed (three batches of 5 here, never the fourth)."""
    add(engine, clock, 20)
    seen_sending: list[int] = []
    handed: list[int] = []

    class Holding(FaultProvider):
        """Holds its batches until the worker has claimed all it may."""

        async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
            handed.append(len(messages))
            deadline = time.monotonic() + 30
            while not seen_sending and time.monotonic() < deadline:
                if count(engine, SENDING) >= 15:
                    await asyncio.sleep(0.2)  # a fourth claim would show by now
                    if not seen_sending:  # the other held batch may have looked first
                        seen_sending.extend([count(engine, SENDING), len(handed)])
                    break
                await asyncio.sleep(0.01)
            await super().submit(messages, report)

    worker = Worker(
        engine, Holding(latency=0), clock, WorkerConfig(batch_size=5, default_rate=1000)
    )
    run_until_sent(worker, engine, 20)
    # 15 sending: two batches in hand and one claimed ahead; two submits held at once.
    assert seen_sending == [15, 2]
    assert count(engine, SENT) == 20


def test_what_carried_each_message_is_recorded(engine: Engine, clock: FrozenClock) -> None:
    with session_scope(engine) as session:
        number = SenderNumber(kind="short_code", value="36111", rate=100, created_at=clock.now())
        session.add(number)
        session.flush()
        campaign = Campaign(
            name="Soldes",
            type="informational",
            template="Soldes",
            sender_id=number.id,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(campaign)
        session.flush()
        number_id, campaign_id = number.id, campaign.id
    (message_id,) = add(engine, clock, 1, campaign_id=campaign_id)
    provider = FaultProvider(latency=0)
    Worker(engine, provider, clock, WorkerConfig(default_rate=1000)).run_once()
    [handed] = provider.handed
    assert (handed.sender, handed.sender_kind) == ("36111", "short_code")
    sent = load(engine, message_id)
    assert (sent.provider, sent.sender, sent.sender_number_id) == ("fault", "36111", number_id)


def test_a_network_opt_out_answer_opts_the_contact_out(
    engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        session.add(
            Contact(
                phone="+33610000000",
                consent_type="express",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    (message_id,) = add(engine, clock, 1)
    answer = SubmitResult.failed(message_id, "21610: unsubscribed recipient", opted_out=True)
    Worker(
        engine,
        FaultProvider(latency=0, answers={message_id: answer}),
        clock,
        WorkerConfig(default_rate=1000),
    ).run_once()
    assert load(engine, message_id).state == FAILED
    with Session(engine) as session:
        contact = session.execute(select(Contact)).scalar_one()
        assert (contact.status, contact.opted_out_via) == ("opted_out", "provider:fault")


def test_the_fault_provider_is_available_only_when_asked() -> None:
    settings = Settings.from_mapping({})
    check = (
        "import sender.delivery.providers as p, sender.delivery.worker; "
        "print('fault' in p.registered_providers())"
    )
    found = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"
    fault_module.register(latency=0, window=3)
    provider = provider_from_settings(settings.replace(provider="fault"))
    assert isinstance(provider, FaultProvider) and provider.window == 3
    with pytest.raises(ConfigError, match="unknown provider"):
        provider_from_settings(settings.replace(provider="faulty"))


class Holding:
    """A provider that answers only when told to (an SMSC that may stop answering), with
    a window: what it is handed waits inside it for a place, then goes on the wire."""

    name = "holding"
    window = 4

    def __init__(self) -> None:
        self.handed: list[int] = []
        self.on_wire: list[int] = []
        self.places = asyncio.Semaphore(self.window)
        self.waiting: dict[int, tuple[asyncio.Future[None], Report]] = {}

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        self.handed.extend(m.id for m in messages)

        async def one(m: OutgoingMessage) -> None:
            async with self.places:
                self.on_wire.append(m.id)
                answered = asyncio.get_running_loop().create_future()
                self.waiting[m.id] = (answered, report)
                await answered

        await asyncio.gather(*(one(m) for m in messages))

    async def start(self, events: ProviderEvents) -> None:
        pass

    async def close(self) -> None:
        pass

    def health(self) -> ProviderHealth:
        return ProviderHealth(True)

    def answer(self, message_id: int) -> None:
        done, report = self.waiting.pop(message_id)
        report(SubmitResult.accepted(message_id, f"h-{message_id}"))
        done.set_result(None)


def test_two_batches_sharing_a_window_keep_it_full_when_the_provider_stops_answering() -> None:
    """Two batches share one window (4: handfuls of 2; the provider is handed its window
    and one handful more, waiting inside it for a place). Two answers come, then none:
    the provider's window is full again at once, and the places freed go to one handful,
    whole, never one place to each batch (neither handful could then go: the provider
    would be left with nothing waiting, as a worker killed against an SMSC holding its
    answers showed)."""
    provider = Holding()

    async def note(_ids: list[int]) -> int:
        return 1

    def outgoing(ids: range) -> list[OutgoingMessage]:
        return [
            OutgoingMessage(i, "+33612345678", "Shop", "", "Hi", "informational", "GSM-7", 1)
            for i in ids
        ]

    async def scenario() -> tuple[list[int], list[int]]:
        handing = Handing(provider.window, note, lambda: False)
        batches = [
            asyncio.ensure_future(submit(provider, outgoing(ids), timeout=60, handing=handing))
            for ids in (range(1, 9), range(11, 19))
        ]
        for _ in range(50):  # let both batches take what they can
            await asyncio.sleep(0)
        assert provider.on_wire == [1, 2, 3, 4]  # the first batch filled the window
        assert provider.handed == [1, 2, 3, 4, 5, 6]  # and a handful waits for a place
        provider.answer(1)
        provider.answer(2)
        for _ in range(50):
            await asyncio.sleep(0)
        on_wire, handed = list(provider.on_wire), list(provider.handed)
        for batch in batches:
            batch.cancel()
        await asyncio.wait(batches)
        return on_wire, handed

    on_wire, handed = asyncio.run(scenario())
    assert on_wire == [1, 2, 3, 4, 5, 6]  # the waiting handful went out at once
    assert handed[6:] in ([7, 8], [11, 12])  # a whole handful waits for the next places
