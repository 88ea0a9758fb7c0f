"""Handing a claimed batch to a provider and turning its answers into outbox outcomes.

The provider keeps up to its window in flight; each answer is taken as it is reported.
A worker hands a batch over a handful (half a window) at a time (`Handing`): each
handful is noted in `message_handover` (committed), then handed over as soon as the
provider has room for it: its window, and one handful more waiting inside it for the
first free place, so that the provider writes the next submit the moment an answer frees
a place instead of stopping until half its window is free (stop-and-go traffic leaves the
SMSC's answers waiting on TCP's delayed acknowledgement, 40 ms at a time). One handful at
a time is noted and waiting for its places, whichever batch it is from: a worker killed
midway leaves `unknown` what may have reached the provider, and at most a window noted
ahead of the wire (sender/delivery/leases.py). Whatever the provider did not answer,
because it raised, gave up or ran out of time, is `unknown` if it was handed over (it may
have left, so it is never resent), and queued again if it never was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from richsms.clock import Clock
from sender.audience.contacts import opt_out
from sender.audience.models import Contact
from sender.delivery import outbox
from sender.delivery.answers import Outcome
from sender.delivery.answers import record as record_outcomes
from sender.delivery.leases import forget_handovers
from sender.delivery.models import FAILED, QUEUED, SENT, UNKNOWN, Message
from sender.delivery.outbox import DueMessage
from sender.delivery.providers.base import OutgoingMessage, Provider, SubmitResult
from sender.delivery.rate import Route

log = logging.getLogger("richsms.worker")


@dataclass
class WorkerStats:
    """What a worker did since it started (the outbox holds the durable record)."""

    handed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    skipped: int = 0
    expired: int = 0
    unknown: int = 0

    def count(self, outcomes: Sequence[Outcome]) -> None:
        """Count a batch's recorded answers."""
        self.handed += len(outcomes)
        for o in outcomes:
            if o.state == SENT:
                self.sent += 1
            elif o.state == QUEUED:
                self.retried += 1
            elif o.state == UNKNOWN:
                self.unknown += 1
                log.warning("message %d marked unknown: %s", o.id, o.error)
            else:
                self.failed += 1


def outgoing(message: DueMessage, route: Route) -> OutgoingMessage:
    """What the provider needs of a claimed message: it goes from the route's sender."""
    return OutgoingMessage(
        id=message.id,
        phone=message.phone,
        sender=message.sender or route.sender,
        sender_kind=route.kind,
        text=message.text,
        type=message.type,
        encoding=message.encoding,
        segments=message.segments,
    )


# Notes a handful of messages as going on the wire now; the handover row's id, or None
# when this worker may no longer hand anything over (its lease lapsed).
Note = Callable[[list[int]], Awaitable[int | None]]


class Handing:
    """How a worker hands its batches over: a handful at a time, each noted first, as the
    provider's window (shared by the batches being handed over) has room for it."""

    def __init__(self, window: int, note: Note, stopping: Callable[[], bool]) -> None:
        # Half a window: noted while the provider writes what it has.
        self.handful = max(1, window // 2)
        # Places in the provider: its window, and a handful waiting for the first free one.
        self.room = asyncio.Semaphore(window + self.handful)
        # One handful is noted and takes its places at a time, whichever batch it is
        # from: so at most one waits for places, noted (ahead of the wire, with the one
        # waiting inside the provider: a window); and two batches taking theirs place by
        # place could each hold part of the window, waiting for the rest forever when
        # the provider stops answering (places come back with answers only).
        self.taking = asyncio.Lock()
        self.note = note
        self.stopping = stopping  # asked to stop: what is on the wire is finished, no more


async def submit(
    provider: Provider,
    messages: Sequence[OutgoingMessage],
    *,
    timeout: float,
    handing: Handing | None = None,
    handovers: list[int] | None = None,
) -> dict[int, SubmitResult]:
    """The answer of every message handed over: as the provider reported it, else
    `unknown`. With `handing`, a message never handed over (the provider failed or the
    worker is stopping before its turn) has no answer: it goes back to the queue. The
    handover rows written are appended to `handovers`."""
    expected = {m.id for m in messages}
    answers: dict[int, SubmitResult] = {}
    handed: set[int] = set()

    def report(result: SubmitResult) -> None:
        name, message_id = provider.name, result.message_id
        if message_id not in expected:
            log.warning("%s answered for message %d, not handed to it", name, message_id)
        elif message_id in answers:
            log.warning("%s answered twice for message %d: the first stands", name, message_id)
        else:
            answers[result.message_id] = result

    missing = "the provider returned without answering"
    if handing is None:
        handed.update(expected)
        task = asyncio.ensure_future(provider.submit(messages, report))
    else:
        noted = handovers if handovers is not None else []
        task = asyncio.ensure_future(
            _by_handfuls(provider, messages, report, handing, handed, noted)
        )
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        await asyncio.wait({task})
        missing = f"no answer from the provider within {timeout:g} s"
        log.error("%s: %s", provider.name, missing)
    elif (exc := task.exception()) is not None:
        missing = f"the provider raised {type(exc).__name__}: {exc}"
        log.error("provider %s failed on a batch of %d", provider.name, len(messages), exc_info=exc)
    for m in messages:
        if m.id in handed and m.id not in answers:
            answers[m.id] = SubmitResult.unknown(
                m.id, f"{missing}; it may have been sent, so it is never resent automatically"
            )
    return answers


async def _by_handfuls(
    provider: Provider,
    messages: Sequence[OutgoingMessage],
    report: Callable[[SubmitResult], None],
    handing: Handing,
    handed: set[int],
    handovers: list[int],
) -> None:
    """`messages` to the provider a handful at a time, each noted as handed over when the
    window has room for it; every place taken in the window is given back once its
    message is answered, or its handful is over."""
    waiting: set[int] = set()  # handed over, not answered: each holds a place

    def answered(result: SubmitResult) -> None:
        if result.message_id in waiting:
            waiting.discard(result.message_id)
            handing.room.release()
        report(result)

    failed: list[BaseException] = []

    async def hand(handful: Sequence[OutgoingMessage]) -> None:
        try:
            await provider.submit(handful, answered)
        except BaseException as exc:
            failed.append(exc)  # a provider that raised is handed nothing more
            raise
        finally:
            for m in handful:
                if m.id in waiting:
                    waiting.discard(m.id)
                    handing.room.release()

    tasks: list[asyncio.Task[None]] = []
    loose = 0  # places taken for the next handful, not yet given to its messages
    try:
        for start in range(0, len(messages), handing.handful):
            handful = messages[start : start + handing.handful]
            async with handing.taking:
                if failed or handing.stopping():
                    break
                # Noted while the provider is still busy with what it has, so that it
                # never waits for the database: if the worker dies before this handful
                # goes out, it is unknown though never sent.
                noted = await handing.note([m.id for m in handful])
                if noted is None:  # the lease lapsed: hand nothing more over
                    break
                handovers.append(noted)
                for _ in handful:
                    await handing.room.acquire()
                    loose += 1
            if failed or handing.stopping():
                break
            handed.update(m.id for m in handful)
            waiting.update(m.id for m in handful)
            loose = 0
            tasks.append(asyncio.ensure_future(hand(handful)))
        await asyncio.gather(*tasks)
    finally:
        for _ in range(loose):
            handing.room.release()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for _ in waiting:  # cancelled before their answers: their places are free again
            handing.room.release()
        waiting.clear()


def outcome(
    message: DueMessage,
    result: SubmitResult,
    at: datetime,
    *,
    retry_min: timedelta,
    retry_max: timedelta,
) -> Outcome:
    """The outbox outcome of one answer. A retry waits at least `retry_min`, longer the
    longer the message has waited (at most `retry_max`), and never less than the
    provider's `retry_after`."""
    if result.state == "accepted":
        ids = result.provider_ids
        return Outcome(message.id, SENT, at, provider_id=ids[0] if ids else None, provider_ids=ids)
    if result.state == "retry":
        delay = min(retry_max, max(retry_min, at - message.waiting_since))
        if result.retry_after is not None:
            delay = max(delay, timedelta(seconds=result.retry_after))
        return Outcome(
            message.id, QUEUED, at, error=result.error or "not sent: retried", retry_at=at + delay
        )
    if result.state == "failed":
        return Outcome(message.id, FAILED, at, error=result.error or "refused by the provider")
    return Outcome(message.id, UNKNOWN, at, error=result.error or "no answer from the provider")


def record_answers(
    engine: Engine,
    messages: Sequence[DueMessage],
    answers: dict[int, SubmitResult],
    at: datetime,
    *,
    worker_id: str,
    provider: str,
    clock: Clock,
    retry: tuple[timedelta, timedelta],
    handovers: Sequence[int] = (),
) -> list[Outcome] | None:
    """Record a batch's answers in one transaction (the worker step's own: committed
    here), trying three times, and put the messages without one (never handed over)
    back in the queue; returns the outcomes, or None if the database kept refusing (the
    messages then turn unknown when their lease runs out)."""
    retry_min, retry_max = retry
    outcomes = [
        outcome(m, answers[m.id], at, retry_min=retry_min, retry_max=retry_max)
        for m in messages
        if m.id in answers
    ]
    never_handed = [m.id for m in messages if m.id not in answers]
    opted_out = [m.id for m in messages if m.id in answers and answers[m.id].opted_out]
    for attempt in range(1, 4):
        try:
            with engine.begin() as conn:
                record_outcomes(
                    conn=conn, outcomes=outcomes, worker_id=worker_id, provider=provider
                )
                outbox.release(conn=conn, ids=never_handed, worker_id=worker_id)
                forget_handovers(conn, handovers)
                if opted_out:  # an ORM session only then: it costs more than the rest
                    with Session(bind=conn) as session:
                        opt_out_recipients(
                            session=session,
                            message_ids=opted_out,
                            via=f"provider:{provider}",
                            clock=clock,
                        )
            return outcomes
        except DBAPIError:
            if attempt == 3:
                log.exception(
                    "could not record %d answers; they will turn unknown after the lease",
                    len(outcomes),
                )
                return None
            log.warning("recording answers failed (attempt %d); retrying", attempt)
            time.sleep(0.5 * attempt)
    return None


def opt_out_recipients(
    *, session: Session, message_ids: Sequence[int], via: str, clock: Clock
) -> None:
    """The network said these messages' recipients opted out (a carrier-level STOP, such
    as Twilio's error 21610): their contacts are opted out (flushed, not committed)."""
    if not message_ids:
        return
    phones = set(
        session.exec(select(col(Message.phone)).where(col(Message.id).in_(message_ids))).all()
    )
    for contact in session.exec(select(Contact).where(col(Contact.phone).in_(phones))).all():
        opt_out(session=session, contact=contact, via=via, clock=clock)
    session.flush()
