"""Delivery receipts through `record_receipt` and the provider's events, on both
databases: every part of a long SMS, duplicates, receipts before the submit answer."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlmodel import Session, col

from richsms.db import session_scope
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.models import Contact
from sender.delivery.answers import Outcome, record
from sender.delivery.models import (
    DELIVERED,
    FINAL_STATES,
    PENDING_STATES,
    SENT,
    UNDELIVERED,
    InboundMessage,
    Message,
    MessagePart,
    PendingReceipt,
)
from sender.delivery.outbox import NewMessage, enqueue, mark_sending
from sender.delivery.provider_events import DatabaseEvents
from sender.delivery.providers import Inbound, OutgoingMessage, Receipt
from sender.delivery.receipts import apply_pending, record_receipt, store_receipts
from sender.delivery.worker import Worker, WorkerConfig
from tests.clock import FrozenClock
from tests.sender.delivery.providers.fault import FaultProvider

LONG = "Soldes d'hiver : -20% sur tout le magasin. " * 9  # about 400 characters: 3 parts


def add_message(engine: Engine, clock: FrozenClock, text: str = "Hello", **options: object) -> int:
    with session_scope(engine) as session:
        new = NewMessage(
            phone=str(options.pop("phone", "+33612345678")),
            text=text,
            type="informational",
            **options,  # type: ignore[arg-type]
        )
        message = enqueue(session=session, message=new, now=clock.now())
        assert message.id is not None
        return message.id


def load(engine: Engine, message_id: int) -> Message:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def parts(engine: Engine, message_id: int) -> list[tuple[str, str, str]]:
    with engine.begin() as conn:
        rows = conn.execute(
            select(col(MessagePart.provider), col(MessagePart.provider_id), col(MessagePart.state))
            .where(col(MessagePart.message_id) == message_id)
            .order_by(col(MessagePart.part))
        ).all()
    return [(provider, pid, state) for provider, pid, state in rows]


def receipt(
    engine: Engine,
    pid: str,
    state: str,
    at: datetime,
    error: str | None = None,
    provider: str = "fault",
) -> str:
    with session_scope(engine) as session:
        return record_receipt(
            session=session,
            provider=provider,
            provider_id=pid,
            state=state,
            at=at,
            error=error,
        )


def send(engine: Engine, clock: FrozenClock, provider: FaultProvider) -> Worker:
    worker = Worker(engine, provider, clock, WorkerConfig(worker_id="w1", default_rate=1000))
    worker.run_once()
    return worker


def test_states_say_what_is_final() -> None:
    assert DELIVERED in FINAL_STATES and UNDELIVERED in FINAL_STATES and SENT in FINAL_STATES
    assert not set(FINAL_STATES) & set(PENDING_STATES)


def test_a_long_message_is_delivered_when_every_part_is(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock, LONG)
    assert load(engine, message_id).segments == 3
    send(engine, clock, FaultProvider(latency=0))
    ids = [pid for _, pid, _ in parts(engine, message_id)]
    assert ids == [f"fault-{message_id}-{n}" for n in range(3)]
    sent = load(engine, message_id)
    assert (sent.state, sent.provider, sent.provider_id) == (SENT, "fault", ids[0])

    first, last = clock.now() + timedelta(seconds=5), clock.now() + timedelta(seconds=9)
    assert receipt(engine, ids[0], "delivered", first) == "applied"
    assert receipt(engine, ids[2], "delivered", last) == "applied"
    assert load(engine, message_id).state == SENT  # one part still unconfirmed
    assert receipt(engine, ids[1], "delivered", first) == "applied"
    delivered = load(engine, message_id)
    assert (delivered.state, delivered.delivered_at) == (DELIVERED, last)
    assert {state for _, _, state in parts(engine, message_id)} == {DELIVERED}


def test_one_part_that_never_arrives_makes_the_message_undelivered(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock, LONG)
    send(engine, clock, FaultProvider(latency=0))
    ids = [pid for _, pid, _ in parts(engine, message_id)]
    at = clock.now() + timedelta(hours=48)
    receipt(engine, ids[0], "delivered", clock.now())
    assert receipt(engine, ids[1], "expired", at, error="validity period elapsed") == "applied"
    lost = load(engine, message_id)
    assert (lost.state, lost.undelivered_at) == (UNDELIVERED, at)
    assert lost.error == "expired: validity period elapsed"
    # The last part's receipt changes nothing any more.
    receipt(engine, ids[2], "delivered", at)
    assert load(engine, message_id).state == UNDELIVERED


def test_a_receipt_arriving_twice_changes_nothing_the_second_time(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    send(engine, clock, FaultProvider(latency=0))
    pid = f"fault-{message_id}"
    assert receipt(engine, pid, "delivered", clock.now()) == "applied"
    later = clock.now() + timedelta(minutes=1)
    assert receipt(engine, pid, "delivered", later) == "duplicate"
    assert receipt(engine, pid, "undelivered", later, error="absent subscriber") == "duplicate"
    again = load(engine, message_id)
    assert (again.state, again.delivered_at, again.error) == (DELIVERED, clock.now(), None)


def test_intermediate_receipts_change_nothing_and_unknown_states_are_refused(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    send(engine, clock, FaultProvider(latency=0))
    pid = f"fault-{message_id}"
    assert receipt(engine, pid, "sent", clock.now()) == "ignored"
    assert receipt(engine, pid, "unknown", clock.now()) == "ignored"
    assert load(engine, message_id).state == SENT
    with pytest.raises(InvalidInput, match="unknown receipt state 'lost'"):
        receipt(engine, pid, "lost", clock.now())


def test_a_receipt_before_the_submit_answer_is_kept_and_applied_with_the_answer(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    # A fast SMSC: the receipt is in before the worker records the answer.
    assert receipt(engine, f"fault-{message_id}", "delivered", clock.now()) == "pending"
    assert receipt(engine, f"fault-{message_id}", "delivered", clock.now()) == "pending"
    send(engine, clock, FaultProvider(latency=0))
    delivered = load(engine, message_id)
    assert (delivered.state, delivered.delivered_at) == (DELIVERED, clock.now())
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(PendingReceipt)).scalar_one() == 0


def answer(engine: Engine, message_id: int, at: datetime, *part_ids: str) -> list[str]:
    """Claim, then record the provider's acceptance of `message_id` (its parts' ids) at
    `at`; the statements the answer's transaction wrote, in order."""
    with engine.begin() as conn:
        mark_sending(conn=conn, ids=[message_id], now=at, worker_id="w")
    written: list[str] = []

    def seen(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        if statement.split(None, 1)[0] in ("INSERT", "UPDATE", "DELETE"):
            written.append(" ".join(statement.split()[:3]))

    with engine.begin() as conn:
        event.listen(conn, "before_cursor_execute", seen)
        outcome = Outcome(message_id, SENT, at, provider_ids=part_ids)
        record(conn=conn, outcomes=[outcome], worker_id="w", provider="fault")
    return written


def test_a_receipt_before_its_answer_ends_the_message_delivered_in_the_answers_writes(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    pid = f"fault-{message_id}"
    received = clock.now() + timedelta(milliseconds=2)
    assert receipt(engine, pid, "delivered", received) == "pending"
    answered = clock.now() + timedelta(milliseconds=5)  # submit_sm_resp read after it
    written = answer(engine, message_id, answered, pid)
    message = load(engine, message_id)
    assert (message.state, message.sent_at, message.delivered_at, message.error) == (
        DELIVERED,
        answered,
        received,
        None,
    )
    assert message.provider_id == pid
    with engine.begin() as conn:
        part = conn.execute(
            select(col(MessagePart.state), col(MessagePart.receipt_at)).where(
                col(MessagePart.provider_id) == pid
            )
        ).one()
        left = conn.execute(select(func.count()).select_from(PendingReceipt)).scalar_one()
    assert (part.state, part.receipt_at, left) == (DELIVERED, received, 0)
    # The message and its part are each written once, in their final state.
    assert written == [
        "UPDATE message SET",
        "INSERT INTO message_part",
        "DELETE FROM pending_receipt",
    ]
    # The receipt repeated later changes nothing.
    assert receipt(engine, pid, "delivered", received + timedelta(seconds=1)) == "duplicate"
    assert load(engine, message_id).delivered_at == received


def test_a_failure_receipt_before_its_answer_ends_the_message_undelivered(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    pid = f"fault-{message_id}"
    received = clock.now() + timedelta(milliseconds=2)
    later = received + timedelta(milliseconds=1)
    assert receipt(engine, pid, "delivered", later) == "pending"
    assert receipt(engine, pid, "rejected", received, error="barred") == "pending"
    answered = clock.now() + timedelta(milliseconds=5)
    answer(engine, message_id, answered, pid)
    message = load(engine, message_id)
    # The earliest final receipt of the part wins, as when the part exists already.
    assert (message.state, message.sent_at, message.undelivered_at, message.error) == (
        UNDELIVERED,
        answered,
        received,
        "rejected: barred",
    )
    assert parts(engine, message_id) == [("fault", pid, UNDELIVERED)]
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(PendingReceipt)).scalar_one() == 0


def test_a_long_message_whose_receipts_came_for_some_parts_waits_for_the_others(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock, LONG)
    ids = [f"fault-{message_id}-{n}" for n in range(3)]
    first, last = clock.now() + timedelta(seconds=1), clock.now() + timedelta(seconds=9)
    assert receipt(engine, ids[0], "delivered", first) == "pending"
    assert receipt(engine, ids[2], "delivered", first) == "pending"
    answer(engine, message_id, clock.now(), *ids)
    sent = load(engine, message_id)
    assert (sent.state, sent.sent_at, sent.delivered_at) == (SENT, clock.now(), None)
    assert [state for _, _, state in parts(engine, message_id)] == [DELIVERED, SENT, DELIVERED]
    assert receipt(engine, ids[1], "delivered", last) == "applied"
    delivered = load(engine, message_id)
    assert (delivered.state, delivered.delivered_at) == (DELIVERED, last)


def test_applying_pending_receipts_keeps_those_whose_answer_has_not_come(
    engine: Engine, clock: FrozenClock
) -> None:
    answered = add_message(engine, clock, phone="+33600000001")
    waiting = add_message(engine, clock, phone="+33600000002")
    for message_id in (answered, waiting):
        assert receipt(engine, f"fault-{message_id}", "delivered", clock.now()) == "pending"
    with engine.begin() as conn:
        mark_sending(conn=conn, ids=[answered], now=clock.now(), worker_id="w")
        record(
            conn=conn,
            outcomes=[Outcome(answered, SENT, clock.now(), provider_id=f"fault-{answered}")],
            worker_id="w",
            provider="fault",
        )
    with engine.begin() as conn:  # a sweep, or a second look, naming both
        keys = [("fault", f"fault-{answered}"), ("fault", f"fault-{waiting}")]
        assert apply_pending(conn, keys) == 0  # the answer applied its own already
    assert load(engine, answered).state == DELIVERED
    with engine.begin() as conn:
        left = conn.execute(select(col(PendingReceipt.provider_id))).scalars().all()
    assert left == [f"fault-{waiting}"]  # not dropped: its answer will bring the part
    send(engine, clock, FaultProvider(latency=0))
    assert load(engine, waiting).state == DELIVERED


def test_receipts_from_the_provider_before_and_after_the_answer(
    engine: Engine, clock: FrozenClock
) -> None:
    early = add_message(engine, clock, phone="+33600000001")
    late = add_message(engine, clock, phone="+33600000002")
    refused = add_message(engine, clock, phone="+33600000003")
    provider = FaultProvider(
        latency=0,
        clock=clock,
        receipts={early: "delivered", late: "rejected", refused: "delivered"},
        answers={refused: "failed"},
        receipts_first=True,
    )
    worker = send(engine, clock, provider)
    assert load(engine, early).state == DELIVERED
    # `late`'s receipt came through the events before the answer too: kept, then applied.
    assert (load(engine, late).state, load(engine, late).error) == (UNDELIVERED, "rejected")
    assert load(engine, refused).state == "failed"  # refused: no part, no receipt
    # Receipts a while after the answer, through the worker's events.
    later = add_message(engine, clock, phone="+33600000004")
    provider.receipts_first, provider.hold_receipts = False, True
    provider.receipts[later] = "delivered"
    worker.run_once()
    assert load(engine, later).state == SENT
    worker.run(provider.release_receipts())
    assert load(engine, later).state == DELIVERED
    worker.close()


def test_provider_ids_are_unique_per_provider_not_across_providers(
    engine: Engine, clock: FrozenClock
) -> None:
    first = add_message(engine, clock, phone="+33600000001")
    send(engine, clock, FaultProvider(latency=0, name="carrier"))
    second = add_message(engine, clock, phone="+33600000002")


    class Other(FaultProvider):
        """Another provider, which happens to give the same id: a different part."""

        def part_ids(self, message: OutgoingMessage) -> list[str]:
            return [f"carrier-{first}"]

    send(engine, clock, Other(latency=0, name="other"))
    assert parts(engine, first) == [("carrier", f"carrier-{first}", SENT)]
    assert parts(engine, second) == [("other", f"carrier-{first}", SENT)]
    receipt(engine, f"carrier-{first}", "delivered", clock.now(), provider="other")
    assert (load(engine, first).state, load(engine, second).state) == (SENT, DELIVERED)


def test_pending_receipts_nobody_claims_are_forgotten_after_a_week(
    engine: Engine, clock: FrozenClock
) -> None:
    receipt(engine, "from-another-system", "delivered", clock.now())
    worker = Worker(engine, FaultProvider(latency=0), clock)
    clock.advance(timedelta(days=7, seconds=1))
    worker.sweep()
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(PendingReceipt)).scalar_one() == 0


def test_database_events_store_receipts_and_inbound_messages(
    engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    send(engine, clock, FaultProvider(latency=0))
    events = DatabaseEvents(engine, clock, settings)
    worker = Worker(engine, FaultProvider(latency=0), clock, events=events)

    async def network() -> None:
        pid = f"fault-{message_id}"
        await events.receipt(Receipt("fault", pid, "delivered", clock.now()))
        await events.receipt(Receipt("fault", pid, "delivered", clock.now()))  # again
        await events.inbound(Inbound("fault", "+33612345678", "36111", "STOP", clock.now()))

    worker.run(network())
    assert load(engine, message_id).state == DELIVERED
    with Session(engine) as session:
        contact = session.execute(
            select(Contact).where(col(Contact.phone) == "+33612345678")
        ).scalar_one()
        assert contact.status == "opted_out"
        stored = session.execute(select(InboundMessage)).scalar_one()
        assert (stored.text, stored.to) == ("STOP", "36111")
    worker.close()


def test_an_inbound_message_the_network_classified_as_an_opt_out_opts_out(
    engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    events = DatabaseEvents(engine, clock, settings)
    worker = Worker(engine, FaultProvider(latency=0), clock, events=events)
    inbound = Inbound(
        "http", "+33612345678", "36111", "Plus de messages svp", clock.now(), opt_out_type="STOP"
    )
    worker.run(events.inbound(inbound))
    with Session(engine) as session:
        contact = session.execute(select(Contact)).scalar_one()
        assert contact.status == "opted_out"
    worker.close()


def test_a_receipt_that_crossed_its_answer_is_applied_by_the_next_sweep(
    engine: Engine, clock: FrozenClock
) -> None:
    message_id = add_message(engine, clock)
    worker = send(engine, clock, FaultProvider(latency=0))
    # What two concurrent transactions leave on PostgreSQL: the receipt saw no part and
    # was kept pending, the answer saw no pending receipt. Neither applied it.
    with session_scope(engine) as session:
        session.add(
            PendingReceipt(
                provider="fault",
                provider_id=f"fault-{message_id}",
                state="delivered",
                at=clock.now(),
                received_at=clock.now(),
            )
        )
    assert load(engine, message_id).state == "sent"
    clock.advance(timedelta(seconds=31))
    worker.sweep()
    assert load(engine, message_id).state == DELIVERED
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(PendingReceipt)).scalar_one() == 0


def test_two_receipts_for_one_part_stored_at_once_leave_the_first_committed(
    engine: Engine, clock: FrozenClock
) -> None:
    """Two connections each read the part still `sent`, then settle it: the second waits
    for the first's row lock and then changes nothing (on PostgreSQL it read before the
    first committed; on SQLite the write lock orders them before they read)."""
    message_id = add_message(engine, clock)
    send(engine, clock, FaultProvider(latency=0))
    pid = f"fault-{message_id}"
    first_at, second_at = clock.now() + timedelta(seconds=3), clock.now() + timedelta(seconds=4)
    first = Receipt("fault", pid, "delivered", first_at, None)
    second = Receipt("fault", pid, "undelivered", second_at, "absent subscriber")
    outcomes: list[str] = []

    def store_second() -> None:
        with engine.begin() as conn:
            outcomes.extend(store_receipts(conn, [second]))

    with engine.begin() as conn:
        assert store_receipts(conn, [first]) == ["applied"]
        racer = threading.Thread(target=store_second)
        racer.start()
        if engine.dialect.name == "postgresql":  # the second has read and waits for the lock
            with engine.connect() as watch:
                for _ in range(500):
                    waiting = watch.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                    ).scalar_one()
                    if waiting:
                        break
                    time.sleep(0.01)
                assert waiting, "the second receipt never waited for the first's lock"
    racer.join(timeout=30)
    assert not racer.is_alive() and len(outcomes) == 1
    settled = load(engine, message_id)
    assert (settled.state, settled.delivered_at, settled.undelivered_at, settled.error) == (
        DELIVERED, first_at, None, None
    )  # fmt: skip
    with engine.begin() as conn:
        part = conn.execute(
            select(col(MessagePart.state), col(MessagePart.receipt_at), col(MessagePart.error))
        ).one()
    assert tuple(part) == (DELIVERED, first_at, None)
