"""The outbox's state transitions, one by one, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms.db import session_scope
from richsms.errors import InvalidInput
from sender.delivery import outbox
from sender.delivery.answers import Outcome, record
from sender.delivery.models import (
    EXPIRED,
    FAILED,
    PLANNED,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    UNKNOWN,
    Message,
    MessagePart,
)
from sender.delivery.outbox import NewMessage, enqueue
from tests.clock import FrozenClock


def add(engine: Engine, clock: FrozenClock, count: int = 1, **options: object) -> list[int]:
    with session_scope(engine) as session:
        ids = []
        for n in range(count):
            new = NewMessage(
                phone=f"+3361000{n:04d}",
                text=f"message {n}",
                type="informational",
                **options,  # type: ignore[arg-type]
            )
            message = enqueue(session=session, message=new, now=clock.now())
            assert message.id is not None
            ids.append(message.id)
        return ids


def load(engine: Engine, message_id: int) -> Message:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_enqueue_due_now_is_queued_and_later_is_planned(engine: Engine, clock: FrozenClock) -> None:
    (now,) = add(engine, clock)
    (later,) = add(engine, clock, due_at=clock.now() + timedelta(hours=2))
    queued, planned = load(engine, now), load(engine, later)
    assert (queued.state, queued.queued_at, queued.planned_at) == (QUEUED, clock.now(), clock.now())
    assert (planned.state, planned.queued_at) == (PLANNED, None)
    assert queued.encoding == "GSM-7" and queued.segments == 1


def test_enqueue_refuses_bad_input(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        with pytest.raises(InvalidInput, match="unknown message type"):
            spam = NewMessage(phone="+33610000000", text="x", type="spam")
            enqueue(session=session, message=spam, now=clock.now())
        with pytest.raises(InvalidInput, match="empty"):
            empty = NewMessage(phone="+33610000000", text="", type="promotional")
            enqueue(session=session, message=empty, now=clock.now())


def test_planned_messages_are_promoted_when_due(engine: Engine, clock: FrozenClock) -> None:
    (soon,) = add(engine, clock, due_at=clock.now() + timedelta(minutes=5))
    (late,) = add(engine, clock, due_at=clock.now() + timedelta(hours=5))
    clock.advance(timedelta(minutes=5))
    with engine.begin() as conn:
        assert outbox.promote_due(conn=conn, now=clock.now()) == 1
    promoted = load(engine, soon)
    assert (promoted.state, promoted.queued_at) == (QUEUED, clock.now())
    assert load(engine, late).state == PLANNED


def test_messages_waiting_too_long_expire(engine: Engine, clock: FrozenClock) -> None:
    start = clock.now()
    (old,) = add(engine, clock)
    (planned_long_ago,) = add(engine, clock, due_at=start + timedelta(minutes=30))
    clock.advance(timedelta(hours=2))
    (recent,) = add(engine, clock)
    # A message deferred by quiet hours keeps waiting since it was first due.
    with engine.begin() as conn:
        outbox.defer(conn=conn, deferrals=[(old, clock.now() + timedelta(hours=30))])
    clock.advance(timedelta(hours=23))
    with engine.begin() as conn:
        expired = outbox.expire_overdue(conn=conn, now=clock.now(), expiry=timedelta(hours=24))
    assert expired == [old, planned_long_ago]
    gone = load(engine, old)
    assert (gone.state, gone.expired_at) == (EXPIRED, clock.now())
    assert gone.error == "not sent within 24 hours of its due time"
    assert load(engine, recent).state == QUEUED


def claim(engine: Engine, clock: FrozenClock, worker: str, limit: int = 10) -> list[int]:
    with engine.begin() as conn:
        due = outbox.lock_due(conn=conn, now=clock.now(), campaign_id=None, sender="", limit=limit)
        ids = [m.id for m in due]
        outbox.mark_sending(conn=conn, ids=ids, now=clock.now(), worker_id=worker)
    return ids


def test_claims_record_who_and_when(engine: Engine, clock: FrozenClock) -> None:
    ids = add(engine, clock, 3)
    assert claim(engine, clock, "w1", limit=2) == ids[:2]
    assert claim(engine, clock, "w2") == ids[2:]
    first = load(engine, ids[0])
    assert (first.state, first.sending_at, first.claimed_by) == (SENDING, clock.now(), "w1")
    assert claim(engine, clock, "w3") == []


def test_stale_claims_become_unknown_and_fresh_ones_stay(
    engine: Engine, clock: FrozenClock
) -> None:
    old, fresh = add(engine, clock, 2)
    claim(engine, clock, "dead", limit=1)
    clock.advance(timedelta(minutes=4))
    claim(engine, clock, "alive", limit=1)
    clock.advance(timedelta(minutes=2))
    with engine.begin() as conn:
        lost = outbox.mark_unknown(
            conn=conn, now=clock.now(), claimed_before=clock.now() - timedelta(minutes=5)
        )
    assert lost == [(old, "dead")]
    unknown = load(engine, old)
    assert (unknown.state, unknown.unknown_at) == (UNKNOWN, clock.now())
    assert unknown.error is not None and "never resent" in unknown.error
    assert load(engine, fresh).state == SENDING


def test_answers_are_recorded_only_by_the_claiming_worker(
    engine: Engine, clock: FrozenClock
) -> None:
    sent, failed, retried, lost = add(engine, clock, 4)
    claim(engine, clock, "w1")
    retry_at = clock.now() + timedelta(minutes=1)
    outcomes = [
        Outcome(sent, SENT, clock.now(), provider_id="p-1"),
        Outcome(failed, FAILED, clock.now(), error="unknown subscriber"),
        Outcome(retried, QUEUED, clock.now(), error="throttled", retry_at=retry_at),
        Outcome(lost, UNKNOWN, clock.now(), error="timeout"),
    ]
    with engine.begin() as conn:
        record(conn=conn, outcomes=outcomes, worker_id="someone else")
    assert {load(engine, i).state for i in (sent, failed, retried, lost)} == {SENDING}
    with engine.begin() as conn:
        record(conn=conn, outcomes=outcomes, worker_id="w1")
    assert (load(engine, sent).state, load(engine, sent).provider_id) == (SENT, "p-1")
    assert (load(engine, failed).state, load(engine, failed).error) == (
        FAILED,
        "unknown subscriber",
    )
    again = load(engine, retried)
    assert (again.state, again.due_at, again.claimed_by) == (QUEUED, retry_at, None)
    assert load(engine, lost).state == UNKNOWN


def test_an_answer_overrides_a_presumed_unknown(engine: Engine, clock: FrozenClock) -> None:
    (message,) = add(engine, clock)
    claim(engine, clock, "slow")
    clock.advance(timedelta(minutes=10))
    with engine.begin() as conn:
        outbox.mark_unknown(conn=conn, now=clock.now(), claimed_before=clock.now())
        record(
            conn=conn, outcomes=[Outcome(message, SENT, clock.now(), "p-9")], worker_id="slow"
        )
    assert load(engine, message).state == SENT


def test_an_accepted_answer_stores_one_part_per_provider_id(
    engine: Engine, clock: FrozenClock
) -> None:
    long, short, stranger = add(engine, clock, 3)
    with engine.begin() as conn:
        outbox.mark_sending(
            conn=conn, ids=[long, short], now=clock.now(), worker_id="w1", provider="smpp"
        )
        outbox.mark_sending(conn=conn, ids=[stranger], now=clock.now(), worker_id="w2")
        record(
            conn=conn,
            outcomes=[
                Outcome(long, SENT, clock.now(), provider_ids=("a1", "a2")),
                Outcome(short, SENT, clock.now(), provider_id="b1"),
                Outcome(stranger, SENT, clock.now(), provider_id="c1"),  # not w1's claim
            ],
            worker_id="w1",
            provider="smpp",
        )
    with engine.begin() as conn:
        parts = conn.execute(
            select(
                col(MessagePart.message_id), col(MessagePart.provider_id), col(MessagePart.part)
            ).order_by(col(MessagePart.provider_id))
        ).all()
    assert [tuple(p) for p in parts] == [(long, "a1", 0), (long, "a2", 1), (short, "b1", 0)]
    sent = load(engine, long)
    assert (sent.state, sent.provider, sent.provider_id) == (SENT, "smpp", "a1")
    assert load(engine, stranger).state == SENDING


def test_released_claims_go_back_to_the_queue(engine: Engine, clock: FrozenClock) -> None:
    ids = add(engine, clock, 2)
    claim(engine, clock, "w1")
    with engine.begin() as conn:
        outbox.release(conn=conn, ids=ids, worker_id="w1")
        outbox.skip(conn=conn, skips=[(ids[1], "the contact opted out")])
    back = load(engine, ids[0])
    assert (back.state, back.claimed_by, back.sending_at) == (QUEUED, None, None)
    assert (load(engine, ids[1]).state, load(engine, ids[1]).error) == (
        SKIPPED,
        "the contact opted out",
    )


def test_due_groups_separate_campaigns_and_senders(engine: Engine, clock: FrozenClock) -> None:
    add(engine, clock, 2)
    add(engine, clock, 1, sender="SHOP")
    add(engine, clock, 1, sender="SHOP", due_at=clock.now() + timedelta(hours=1))
    with engine.begin() as conn:
        groups = outbox.due_groups(conn=conn, now=clock.now())
    assert sorted(groups, key=str) == sorted([(None, ""), (None, "SHOP")], key=str)
    with Session(engine) as session:
        assert len(session.exec(select(Message)).all()) == 4
