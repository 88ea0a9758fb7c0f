"""The worker, one deterministic step at a time with a frozen clock, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from richsms.db import session_scope
from richsms.settings import ConfigError, Settings
from sender.audience.models import Contact
from sender.delivery.leases import HandoverNotes, Lease
from sender.delivery.models import (
    DELIVERED,
    EXPIRED,
    FAILED,
    PLANNED,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    UNKNOWN,
    Message,
    SenderNumber,
)
from sender.delivery.outbox import NewMessage, enqueue
from sender.delivery.providers import (
    OutgoingMessage,
    ProviderEvents,
    ProviderHealth,
    Report,
    SubmitResult,
    provider_from_settings,
    register_provider,
)
from sender.delivery.providers.console import ConsoleProvider, read_log
from sender.delivery.worker import Worker, WorkerConfig
from tests.clock import FrozenClock

Answer = SubmitResult | Exception | Callable[[OutgoingMessage], SubmitResult]


class Recorder:
    """A provider that remembers what it was handed and answers as told, one message
    at a time."""

    name = "recorder"
    window = 1

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.handed: list[OutgoingMessage] = []
        self.answers: dict[int, Answer] = {}
        self.states_at_send: list[tuple[str, datetime | None, str | None]] = []

    async def start(self, events: ProviderEvents) -> None:
        pass

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        for message in messages:
            if self.engine is not None:
                stored = load(self.engine, message.id)
                self.states_at_send.append((stored.state, stored.sending_at, stored.claimed_by))
            self.handed.append(message)
            answer = self.answers.get(
                message.id, SubmitResult.accepted(message.id, f"p-{message.id}")
            )
            if isinstance(answer, Exception):
                raise answer
            report(answer(message) if callable(answer) else answer)

    async def close(self) -> None:
        pass

    def health(self) -> ProviderHealth:
        return ProviderHealth(True)


def load(engine: Engine, message_id: int) -> Message:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def add_contact(
    engine: Engine,
    clock: FrozenClock,
    phone: str,
    *,
    status: str = "subscribed",
    consent: str | None = "express",
    timezones: str = "Europe/Paris",
) -> int:
    with session_scope(engine) as session:
        contact = Contact(
            phone=phone,
            status=status,
            consent_type=consent,
            timezones=timezones,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(contact)
        session.flush()
        assert contact.id is not None
        return contact.id


def add_message(engine: Engine, clock: FrozenClock, **options: object) -> int:
    values: dict[str, object] = {"phone": "+33612345678", "text": "Hello", "type": "informational"}
    values.update(options)
    with session_scope(engine) as session:
        new = NewMessage(**values)  # type: ignore[arg-type]
        message = enqueue(session=session, message=new, now=clock.now())
        assert message.id is not None
        return message.id


@pytest.fixture
def provider(engine: Engine) -> Recorder:
    return Recorder(engine)


@pytest.fixture
def worker(engine: Engine, provider: Recorder, clock: FrozenClock) -> Worker:
    return Worker(engine, provider, clock, WorkerConfig(worker_id="w1", default_rate=1000))


def test_a_due_message_is_sent_with_a_time_for_each_state(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    assert worker.run_once() == 1
    sent = load(engine, message_id)
    assert sent.state == SENT
    assert (sent.provider, sent.provider_id) == ("recorder", f"p-{message_id}")
    assert sent.planned_at == sent.queued_at == sent.sending_at == sent.sent_at == clock.now()
    assert sent.claimed_by == "w1"
    assert [m.id for m in provider.handed] == [message_id]
    assert worker.run_once() == 0


def test_a_message_is_committed_sending_before_it_is_handed_over(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    add_message(engine, clock)
    worker.run_once()
    assert provider.states_at_send == [(SENDING, clock.now(), "w1")]


def test_planned_messages_wait_for_their_time(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock, due_at=clock.now() + timedelta(minutes=10))
    assert worker.run_once() == 0
    assert load(engine, message_id).state == PLANNED
    clock.advance(timedelta(minutes=10))
    assert worker.run_once() == 1
    sent = load(engine, message_id)
    assert (sent.state, sent.queued_at) == (SENT, clock.now())


def test_failures_permanent_and_temporary(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    refused = add_message(engine, clock, phone="+33600000001")
    throttled = add_message(engine, clock, phone="+33600000002")
    provider.answers[refused] = SubmitResult.failed(refused, "unknown subscriber")
    provider.answers[throttled] = SubmitResult.retry(throttled, "throttled")
    assert worker.run_once() == 2
    failed = load(engine, refused)
    assert (failed.state, failed.failed_at, failed.error) == (
        FAILED,
        clock.now(),
        "unknown subscriber",
    )
    again = load(engine, throttled)
    assert (again.state, again.error, again.claimed_by) == (QUEUED, "throttled", None)
    assert again.due_at == clock.now() + timedelta(seconds=30)  # the shortest back-off
    assert worker.run_once() == 0  # not before its time
    clock.advance(timedelta(seconds=30))
    assert worker.run_once() == 1
    # The back-off grows with the time the message has waited.
    assert load(engine, throttled).due_at == clock.now() + timedelta(seconds=30)
    clock.advance(timedelta(minutes=10))
    assert worker.run_once() == 1
    assert load(engine, throttled).due_at == clock.now() + timedelta(seconds=630)
    del provider.answers[throttled]
    clock.advance(timedelta(seconds=630))
    assert worker.run_once() == 1
    assert load(engine, throttled).state == SENT
    assert worker.stats.retried == 3 and worker.stats.failed == 1 and worker.stats.sent == 1


def test_a_retry_waits_at_least_as_long_as_the_provider_asks(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    throttled = add_message(engine, clock)
    provider.answers[throttled] = SubmitResult.retry(throttled, "queue full", after=120)
    assert worker.run_once() == 1
    assert load(engine, throttled).due_at == clock.now() + timedelta(seconds=120)


def test_a_provider_that_raises_leaves_what_it_was_handed_unknown_never_resent(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    answered = add_message(engine, clock, phone="+33600000001")
    first = add_message(engine, clock, phone="+33600000002")
    second = add_message(engine, clock, phone="+33600000003")
    provider.answers[first] = TimeoutError("no response from the SMSC")
    assert worker.run_once() == 3  # the whole batch was claimed for the provider
    assert load(engine, answered).state == SENT
    # It may have left (the provider cannot say what it wrote): never resent.
    lost = load(engine, first)
    assert (lost.state, lost.unknown_at) == (UNKNOWN, clock.now())
    assert lost.error is not None and "TimeoutError" in lost.error
    # A provider that raised is handed nothing more: what it never saw is queued again,
    # due as it was, and sent by the next round.
    again = load(engine, second)
    assert (again.state, again.claimed_by, again.unknown_at) == (QUEUED, None, None)
    assert worker.run_once() == 1
    assert [m.id for m in provider.handed] == [answered, first, second]
    assert load(engine, second).state == SENT
    assert worker.stats.unknown == 1


def test_stopping_finishes_what_is_on_the_wire_and_returns_the_rest(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    # Two groups (two senders): two batches are being handed over when the stop comes.
    first = [add_message(engine, clock, phone=f"+3360000000{n}") for n in range(2)]
    second = [add_message(engine, clock, phone=f"+3360000001{n}", sender="SHOP") for n in range(2)]

    def stop_here(message: OutgoingMessage) -> SubmitResult:
        worker.stop()
        return SubmitResult.accepted(message.id, "p-stop")

    for message_id in first + second:
        provider.answers[message_id] = stop_here
    worker.run_once()
    # The provider's window is one message: the one on the wire when the stop came.
    [on_the_wire] = [m.id for m in provider.handed]
    assert load(engine, on_the_wire).state == SENT
    for message_id in {*first, *second} - {on_the_wire}:
        back = load(engine, message_id)
        assert (back.state, back.claimed_by, back.error) == (QUEUED, None, None)


def test_run_forever_stops_when_asked(
    engine: Engine, provider: Recorder, clock: FrozenClock
) -> None:
    worker = Worker(engine, provider, clock, WorkerConfig(idle_sleep=0.01, default_rate=1000))
    message_id = add_message(engine, clock)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        for _ in range(500):
            if load(engine, message_id).state == SENT:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert load(engine, message_id).state == SENT


# --- Crash recovery: a dead worker's claims are taken over; what it may have handed to
# the provider is unknown, never resent; what it never handed over is sent by another.


def claimed_by_a_dead_worker(
    engine: Engine, clock: FrozenClock, *, alive_for: timedelta | None = None
) -> tuple[int, int]:
    """Two messages claimed by worker "dead": the first noted as handed over (it was on
    the wire), the second not yet; its lease, if any, runs `alive_for` from now."""
    on_the_wire, waiting = add_message(engine, clock), add_message(engine, clock)
    with engine.begin() as conn:
        for message_id in (on_the_wire, waiting):
            conn.execute(
                update(Message)
                .where(col(Message.id) == message_id)
                .values(state=SENDING, sending_at=clock.now(), claimed_by="dead")
            )
        if alive_for is not None:
            Lease("dead", alive_for).beat(conn, clock.now())
    notes = HandoverNotes(engine)
    notes.note("dead", [on_the_wire], clock.now())
    notes.close()
    return on_the_wire, waiting


def test_a_restarted_worker_takes_over_what_a_dead_one_left(
    engine: Engine, provider: Recorder, clock: FrozenClock
) -> None:
    on_the_wire, waiting = claimed_by_a_dead_worker(engine, clock, alive_for=timedelta(seconds=20))
    clock.advance(timedelta(seconds=5))
    worker = Worker(engine, provider, clock, WorkerConfig(alive_for=timedelta(seconds=20)))
    worker.run_once()
    if engine.dialect.name == "postgresql":
        # Maybe a live worker's: left alone while its lease runs, and the clock skew allowed.
        assert load(engine, on_the_wire).state == SENDING
        clock.advance(timedelta(seconds=20))
        worker.run_once()
        assert load(engine, on_the_wire).state == SENDING
        clock.advance(timedelta(seconds=6))  # past its lease and the skew allowed
        worker.run_once()
    # SQLite: one worker by design: whatever is `sending` at startup was left by a dead one.
    lost = load(engine, on_the_wire)
    assert (lost.state, lost.unknown_at) == (UNKNOWN, clock.now())
    assert lost.error is not None and "worker (dead)" in lost.error
    assert load(engine, waiting).state == SENT  # never on the wire: sent by this worker
    assert [m.id for m in provider.handed] == [waiting]
    assert worker.stats.unknown == 1


def test_a_sweep_spares_a_live_workers_claims(
    engine: Engine, provider: Recorder, clock: FrozenClock
) -> None:
    sweeper = Worker(
        engine, provider, clock, WorkerConfig(worker_id="sweeper", alive_for=timedelta(seconds=20))
    )
    sweeper.run_once()  # started before the other worker claimed anything
    on_the_wire, waiting = claimed_by_a_dead_worker(engine, clock, alive_for=timedelta(seconds=20))
    for _ in range(10):  # it keeps renewing its lease: its claims are its own
        clock.advance(timedelta(seconds=10))
        with engine.begin() as conn:
            Lease("dead", timedelta(seconds=20)).beat(conn, clock.now())
        sweeper.run_once()
        assert {load(engine, i).state for i in (on_the_wire, waiting)} == {SENDING}
    clock.advance(timedelta(seconds=26))  # its lease and the skew allowed run out
    sweeper.run_once()
    assert load(engine, on_the_wire).state == UNKNOWN
    assert load(engine, waiting).state == SENT
    assert [m.id for m in provider.handed] == [waiting]


# --- Quiet hours


def test_outside_quiet_hours_a_message_waits_without_using_the_rate(
    engine: Engine, provider: Recorder, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 24, 21, 30, tzinfo=UTC))  # 22:30 in Paris, 16:30 in New York
    night = add_message(engine, clock, window="08:00-21:00", timezones="Europe/Paris")
    day = add_message(engine, clock, window="08:00-21:00", timezones="America/New_York")
    worker = Worker(engine, provider, clock, WorkerConfig(default_rate=1))  # one token: for `day`
    assert worker.run_once() == 1
    waiting = load(engine, night)
    assert (waiting.state, waiting.due_at) == (QUEUED, datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    assert load(engine, day).state == SENT
    clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    assert worker.run_once() == 1
    assert load(engine, night).state == SENT
    assert worker.stats.deferred == 1


def test_quiet_hours_use_the_contacts_zones_when_the_message_has_none(
    engine: Engine, worker: Worker, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 24, 23, 0, tzinfo=UTC))
    contact_id = add_contact(engine, clock, "+33600000001", timezones="Asia/Tokyo")
    message_id = add_message(
        engine, clock, phone="+33600000001", contact_id=contact_id, window="22:00-06:00"
    )
    assert worker.run_once() == 0  # 08:00 in Tokyo
    assert load(engine, message_id).due_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_a_message_whose_zones_never_share_the_window_is_skipped(
    engine: Engine, worker: Worker, clock: FrozenClock
) -> None:
    message_id = add_message(
        engine, clock, window="08:00-10:00", timezones="Europe/Paris Asia/Tokyo"
    )
    assert worker.run_once() == 0
    skipped = load(engine, message_id)
    assert skipped.state == SKIPPED
    assert skipped.error is not None and skipped.error.startswith("quiet hours:")


# --- Consent, checked again at the moment of sending


def test_consent_is_checked_at_the_moment_of_sending(
    engine: Engine, worker: Worker, provider: Recorder, clock: FrozenClock
) -> None:
    consented = add_contact(engine, clock, "+33600000001", consent="implied")
    no_consent = add_contact(engine, clock, "+33600000002", consent=None)
    opted_out = add_contact(engine, clock, "+33600000003", status="opted_out")
    changed_mind = add_contact(engine, clock, "+33600000004")
    messages = {
        "promo to consented": (consented, "promotional", "+33600000001"),
        "promo without consent": (no_consent, "promotional", "+33600000002"),
        "info without consent": (no_consent, "informational", "+33600000002"),
        "info to opted out": (opted_out, "informational", "+33600000003"),
        "promo to opted out": (opted_out, "promotional", "+33600000003"),
        "opt-out confirmation": (opted_out, "administrative", "+33600000003"),
        "promo, opted out since": (changed_mind, "promotional", "+33600000004"),
    }
    ids = {
        name: add_message(engine, clock, contact_id=contact, type=kind, phone=phone)
        for name, (contact, kind, phone) in messages.items()
    }
    with session_scope(engine) as session:  # after planning, before sending
        contact = session.get(Contact, changed_mind)
        assert contact is not None
        contact.status = "opted_out"
    assert worker.run_once() == 3
    states = {name: load(engine, i).state for name, i in ids.items()}
    assert states == {
        "promo to consented": SENT,
        "promo without consent": SKIPPED,
        "info without consent": SENT,
        "info to opted out": SKIPPED,
        "promo to opted out": SKIPPED,
        "opt-out confirmation": SENT,
        "promo, opted out since": SKIPPED,
    }
    assert load(engine, ids["info to opted out"]).error == "the contact opted out"
    assert "consent" in (load(engine, ids["promo without consent"]).error or "")
    assert worker.stats.skipped == 4


def test_a_phone_without_contact_id_still_honours_its_contacts_opt_out(
    engine: Engine, worker: Worker, clock: FrozenClock
) -> None:
    add_contact(engine, clock, "+33600000003", status="opted_out")
    to_opted_out = add_message(engine, clock, phone="+33600000003")
    to_stranger = add_message(engine, clock, phone="+33600000009")
    promo_to_stranger = add_message(engine, clock, phone="+33600000008", type="promotional")
    test_send = add_message(engine, clock, phone="+33600000007", type="promotional", is_test=True)
    assert worker.run_once() == 2
    assert load(engine, to_opted_out).state == SKIPPED
    assert load(engine, to_stranger).state == SENT
    assert load(engine, promo_to_stranger).state == SKIPPED
    assert load(engine, test_send).state == SENT  # a test send skips consent


def test_a_sender_number_carries_only_its_message_types(
    engine: Engine, worker: Worker, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        session.add(
            SenderNumber(
                kind="short_code",
                value="36111",
                rate=100,
                allowed_types=["informational"],
                created_at=clock.now(),
            )
        )
    info = add_message(engine, clock, sender="36111")
    promo = add_message(engine, clock, sender="36111", type="promotional", is_test=True)
    assert worker.run_once() == 1
    assert load(engine, info).state == SENT
    assert load(engine, promo).error == "the sender 36111 may not carry promotional messages"


# --- Expiry


def test_messages_not_sent_in_time_expire(
    engine: Engine, provider: Recorder, clock: FrozenClock
) -> None:
    worker = Worker(engine, provider, clock, WorkerConfig(expiry=timedelta(hours=24)))
    stale = add_message(engine, clock)
    provider.answers[stale] = SubmitResult.retry(stale, "network down")
    worker.run_once()
    clock.advance(timedelta(hours=24, seconds=1))
    worker.run_once()
    expired = load(engine, stale)
    assert (expired.state, expired.expired_at) == (EXPIRED, clock.now())
    # A message that quiet hours would push past its expiry expires at once.
    clock.set(datetime(2026, 11, 25, 21, 0, tzinfo=UTC))
    late = add_message(engine, clock, window="08:00-21:00", timezones="Europe/Paris")
    with session_scope(engine) as session:
        message = session.get(Message, late)
        assert message is not None
        message.queued_at = clock.now() - timedelta(hours=20)
    worker.run_once()
    assert load(engine, late).state == EXPIRED
    assert worker.stats.expired == 2


# --- Providers


def test_the_console_provider_logs_and_appends_json_lines(
    tmp_path: Path, engine: Engine, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "console.jsonl"
    worker = Worker(
        engine, ConsoleProvider(log, clock=clock), clock, WorkerConfig(default_rate=1000)
    )
    message_id = add_message(engine, clock, text="Bonjour Zoé")
    with caplog.at_level("INFO", logger="richsms.console"):
        assert worker.run_once() == 1
    worker.close()
    assert f"SMS {message_id} to +33612345678: Bonjour Zoé" in caplog.messages
    [line] = read_log(log)
    assert (line["id"], line["phone"], line["text"]) == (message_id, "+33612345678", "Bonjour Zoé")
    # It reports every message delivered at once, so the demo shows delivered states.
    delivered = load(engine, message_id)
    assert (delivered.provider, delivered.provider_id) == ("console", f"console-{message_id}")
    assert (delivered.state, delivered.delivered_at) == (DELIVERED, clock.now())


def test_providers_come_from_a_registry_by_name(settings: Settings) -> None:
    assert provider_from_settings(settings).name == "console"
    with pytest.raises(ConfigError, match="unknown provider 'carrier-pigeon'"):
        provider_from_settings(settings.replace(provider="carrier-pigeon"))
    register_provider("recorder", lambda _settings: Recorder())
    assert isinstance(provider_from_settings(settings.replace(provider="recorder")), Recorder)


def test_the_web_app_runs_a_worker_only_when_asked(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    from starlette.testclient import TestClient

    from web.app import create_app

    def worker_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "richsms-worker"]

    message_id = add_message(engine, clock)
    with TestClient(create_app(settings, clock=clock)):
        assert worker_threads() == []
    assert load(engine, message_id).state == QUEUED
    with TestClient(create_app(settings, clock=clock, run_worker=True)):
        assert len(worker_threads()) == 1
        for _ in range(1000):
            if load(engine, message_id).state == DELIVERED:
                break
            threading.Event().wait(0.01)
    assert load(engine, message_id).state == DELIVERED  # the console provider's receipt
    assert worker_threads() == []  # stopped with the app
