"""The sending worker: takes due messages out of the outbox and hands them to a provider.

A worker runs its provider in an asyncio event loop in the worker's own thread; the
database work stays synchronous, in one helper thread of its own, so that it overlaps
with the provider's traffic instead of stalling it. Two stages share the loop:

- the claimer (sender/delivery/claims.py): each round promotes planned messages that are due,
  sweeps (expiry, stale claims), then claims a batch per group of due messages sharing
  rate limits, each in one committed transaction (`sending`, with the provider and the
  sender number that carry them). It stays at most `prefetch` batches ahead.
- the hand-over (sender/delivery/handover.py): each claimed batch goes to the provider, which
  keeps up to its window in flight and reports each answer as it comes; the answers
  are then recorded in one transaction (sent with the provider's ids, failed, queued
  again after a back-off, or unknown). Two batches are handed over at once, so that
  the window stays full from one batch to the next.

So a message is never handed over twice: a worker that dies leaves at most its batches
in `sending`. A worker renews its lease by heartbeats; once a dead worker's lease has
run out, another worker's sweep takes its claims over (at once when a worker starts on
SQLite, where only one worker runs by design): what it had noted as going on the wire
becomes `unknown`, never resent; the rest is queued again (sender/delivery/leases.py).
Receipts and inbound messages reach the database through the events the provider is
started with (sender/delivery/provider_events.py).

Chores (planning scheduled campaigns, automations) run in a loop of their own
(sender/chores.py), never here: a transactional message is never held up by them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from richsms.clock import Clock
from richsms.metrics import MESSAGES_ANSWERED
from richsms.settings import Settings
from sender.delivery import outbox, sweeps
from sender.delivery.claims import Claim, ClaimRules, claim
from sender.delivery.frequency_caps import FrequencyCap
from sender.delivery.handover import Handing, WorkerStats, outgoing, record_answers, submit
from sender.delivery.leases import HandoverNotes, Lease
from sender.delivery.provider_events import DatabaseEvents
from sender.delivery.providers import Provider, ProviderEvents, SubmitResult, provider_from_settings
from sender.delivery.worker_lanes import DatabaseLanes, new_event_loop

log = logging.getLogger("richsms.worker")

__all__ = ["Worker", "WorkerConfig", "WorkerStats", "default_worker_id", "worker_from_settings"]

T = TypeVar("T")
PROMOTE_EVERY = 0.1  # seconds
# Batches handed to the provider at once: the next one takes window slots as the last
# messages of the one before await their answers, so the window never drains between
# batches. Each is recorded as soon as its answers are in.
HANDED_AT_ONCE = 2


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker works; `from_settings` is what `richsms worker` and `serve` run with.

    - `worker_id`: unique among live workers; host:pid:random when None.
    - `alive_for`: how long a heartbeat keeps this worker's claims its own (renewed every
      quarter of it); a worker silent for longer is dead and its claims taken over.
    - `lease`: a message `sending` for longer than this, though its worker lives, is
      given up on and marked `unknown`; it must exceed the longest time a batch takes to
      hand over (a provider silent for half of it is given up on).
    - `expiry`: a message not sent this long after it became due is `expired`.
    - `default_rate`: messages/s for messages with neither a campaign nor a sender number.
    - `burst`: seconds of rate a bucket may save up while nothing is sent.
    - `batch_size`: messages per claim, handed to the provider at once; keep it at least
      the provider's window, or the window is never full.
    - `prefetch`: batches claimed ahead of those being handed over.
    - `retry_min`, `retry_max`: the back-off before a message the provider refused for now
      is tried again.
    - `pending_receipts_kept`: how long a receipt that came before its answer waits for it.
    - `frequency_cap`: the account's cap on promotional messages, counted again at each
      claim (sender/delivery/frequency_caps.py); None: only campaigns' own caps hold.
    """

    worker_id: str | None = None
    alive_for: timedelta = timedelta(seconds=20)
    batch_size: int = 50
    idle_sleep: float = 0.5
    lease: timedelta = timedelta(minutes=5)
    expiry: timedelta = timedelta(hours=24)
    default_rate: float = 10.0
    burst: float = 1.0
    sweep_interval: timedelta = timedelta(seconds=30)
    groups_refresh: timedelta = timedelta(seconds=1)
    retry_min: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    prefetch: int = 1
    pending_receipts_kept: timedelta = timedelta(days=7)
    frequency_cap: FrequencyCap | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.prefetch < 0:
            raise ValueError("prefetch must be at least 0")

    @classmethod
    def from_settings(cls, settings: Settings, *, worker_id: str | None = None) -> WorkerConfig:
        return cls(
            worker_id=worker_id,
            default_rate=settings.default_rate,
            batch_size=settings.worker_batch,
            alive_for=timedelta(seconds=settings.worker_alive_seconds),
            frequency_cap=FrequencyCap.of_account(settings),
        )


class Worker:
    """See the module docstring and `WorkerConfig`. `run_once` is one round; `run_forever`
    loops until stopped. `events`: where the provider's receipts and inbound messages go
    (the database)."""

    def __init__(
        self,
        engine: Engine,
        provider: Provider,
        clock: Clock,
        config: WorkerConfig | None = None,
        *,
        events: ProviderEvents | None = None,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.clock = clock
        self.config = config or WorkerConfig()
        self.worker_id = self.config.worker_id or default_worker_id()
        self.events: ProviderEvents = events or DatabaseEvents(engine, clock)
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self._recovered = False
        self._next_sweep: datetime | None = None
        self._groups: list[tuple[int | None, str]] | None = None
        self._groups_at: datetime | None = None
        self._wait: float | None = None
        self._turn = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes = DatabaseLanes(engine.dialect.name)
        weakref.finalize(self, self._lanes.close, wait=False)
        self._promoted = -PROMOTE_EVERY
        self._started = False
        self.lease = Lease(self.worker_id, self.config.alive_for)
        self._next_takeover: datetime | None = None
        self._handing = Handing(max(1, provider.window), self._note, lambda: self._stop.is_set())
        self._notes = HandoverNotes(engine)  # used on the handovers lane only
        weakref.finalize(self, self._notes.close)

    # --- The loop

    def run_forever(self, stop: threading.Event) -> None:
        """Work until `stop` is set; the batch in hand is finished first, and what was
        claimed but not handed over goes back to the queue."""
        self._stop = stop
        log.info("worker %s started (%s provider)", self.worker_id, self.provider.name)
        while not stop.is_set():
            try:
                self.run(self._serve(once=False))
            except Exception:
                log.exception("worker step failed; trying again shortly")
                stop.wait(max(self.config.idle_sleep, 1.0))
        log.info("worker %s stopped", self.worker_id)

    def stop(self) -> None:
        """Ask the loop (or the round in progress) to stop after the batch in hand."""
        self._stop.set()

    def run_once(self) -> int:
        """One round; returns how many messages were handed to the provider."""
        return self.run(self._serve(once=True))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on this worker's event loop (where its provider lives)."""
        if self._loop is None:
            self._loop = new_event_loop()
            # A worker dropped without close() still frees its loop.
            weakref.finalize(self, self._loop.close)
        return self._loop.run_until_complete(work)

    @property
    def pause(self) -> float:
        """How long to sleep after an idle round: until a token is due, at most idle_sleep."""
        if self._wait is None:
            return self.config.idle_sleep
        return max(0.001, min(self.config.idle_sleep, self._wait))

    async def _serve(self, *, once: bool) -> int:
        """The claimer and the hand-over, until one round is done (`once`) or stop."""
        if not self._started:
            if isinstance(self.events, DatabaseEvents):
                # The answers' thread: a receipt committed while its answer is (another
                # thread, READ COMMITTED) would see no part, nor the answer the receipt,
                # and wait for the sweep; one after the other, each sees the other.
                self.events.run_on(self._lanes.executor("answers"))
            await self.provider.start(self.events)
            self._started = True
        await self._lanes.run("handovers", self._beat)
        beating = asyncio.create_task(self._heartbeat())
        claimed: asyncio.Queue[Claim | None] = asyncio.Queue()
        slots = asyncio.Semaphore(self.config.prefetch + HANDED_AT_ONCE)
        claimer = asyncio.create_task(self._claimer(claimed, slots, once=once))
        handing: deque[asyncio.Task[None]] = deque()
        handed = 0
        try:
            while (batch := await claimed.get()) is not None:
                if self._stop.is_set():
                    try:
                        await self._lanes.run("answers", self._release, batch)
                    finally:
                        slots.release()
                    continue
                handed += len(batch.messages)
                handing.append(asyncio.create_task(self._hand_over(batch, slots)))
                while len(handing) >= HANDED_AT_ONCE:
                    await handing.popleft()
        except BaseException:
            claimer.cancel()
            raise
        finally:
            while handing:
                await handing.popleft()
            beating.cancel()
        await claimer  # its failure, if any, is this round's
        return handed

    async def _heartbeat(self) -> None:
        """Renew the lease every quarter of it, whatever else is going on; a failed
        renewal is tried again at the next beat (handovers stop once it lapses)."""
        while True:
            await asyncio.sleep(self.lease.every)
            try:
                await self._lanes.run("handovers", self._beat)
            except Exception:
                log.exception("could not renew worker %s's lease", self.worker_id)

    def _beat(self) -> None:
        with self.engine.begin() as conn:
            self.lease.beat(conn, self.clock.now())

    async def _note(self, ids: list[int]) -> int | None:
        """`ids` go on the wire now: noted (committed) first, unless the lease lapsed."""
        if not self.lease.holds():
            log.error("worker %s lost its lease: handing nothing more over", self.worker_id)
            return None
        return await self._lanes.run("handovers", self._write_handover, ids)

    def _write_handover(self, ids: list[int]) -> int:
        return self._notes.note(self.worker_id, ids, self.clock.now())

    async def _hand_over(self, batch: Claim, slots: asyncio.Semaphore) -> None:
        """Hand `batch` to the provider, then record its answers."""
        handovers: list[int] = []
        try:
            answers = await submit(
                self.provider,
                [outgoing(m, batch.route) for m in batch.messages],
                timeout=self.config.lease.total_seconds() / 2,
                handing=self._handing,
                handovers=handovers,
            )
            await self._lanes.run(
                "answers", self._record, batch, answers, self.clock.now(), handovers
            )
        finally:
            slots.release()

    async def _claimer(
        self, claimed: asyncio.Queue[Claim | None], slots: asyncio.Semaphore, *, once: bool
    ) -> None:
        try:
            while not self._stop.is_set():
                now = self.clock.now()
                self._wait = None
                active = await self._lanes.run("claims", self._prepare, now, once)
                found = await self._claim_groups(claimed, slots, now)
                if found is False and self._groups and not self._stop.is_set():
                    # Every group we knew of has run dry: look again for new ones.
                    await self._lanes.run("claims", self._refresh_groups, now)
                    found = await self._claim_groups(claimed, slots, now)
                if once:
                    return
                if not (active or found):
                    await self._sleep(self.pause)
        finally:
            claimed.put_nowait(None)

    async def _claim_groups(
        self, claimed: asyncio.Queue[Claim | None], slots: asyncio.Semaphore, now: datetime
    ) -> bool | None:
        """Claims a batch per group; True if any was claimed, False if every group was
        empty, None if some had messages that could not go yet (rate, stop)."""
        groups = list(self._groups or [])
        if groups:  # take turns at going first: groups sharing a sender share it fairly
            self._turn = (self._turn + 1) % len(groups)
            groups = groups[self._turn :] + groups[: self._turn]
        any_found = False
        any_claimed = False
        if not self.lease.holds():  # its claims may be taken over: claim none
            return None
        for campaign_id, sender in groups:
            if self._stop.is_set():
                return None
            await slots.acquire()
            batch = await self._lanes.run("claims", self._claim, campaign_id, sender, now)
            any_found = any_found or batch.found
            if batch.messages:
                any_claimed = True
                claimed.put_nowait(batch)
            else:
                slots.release()
        if any_claimed:
            return True
        return None if any_found else False

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when asked to stop."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))

    # --- Rounds (on the database thread)

    def _prepare(self, now: datetime, every_round: bool) -> bool:
        """Recovery, sweep and promotion; True if planned messages became due. A busy
        loop promotes at most every PROMOTE_EVERY seconds, not for each batch."""
        if not self._recovered:
            self.recover(now)
        if self._next_sweep is None or now >= self._next_sweep:
            self.sweep(now)
        if self._next_takeover is None or now >= self._next_takeover:
            self.take_over(now)
        if not every_round and time.monotonic() - self._promoted < PROMOTE_EVERY:
            return False
        self._promoted = time.monotonic()
        with self.engine.begin() as conn:
            promoted = outbox.promote_due(conn=conn, now=now)
            if promoted or self._groups is None or self._groups_stale(now):
                self._groups_from(conn, now)
        return promoted > 0

    def _groups_stale(self, now: datetime) -> bool:
        return self._groups_at is None or now - self._groups_at >= self.config.groups_refresh

    def _refresh_groups(self, now: datetime) -> None:
        with self.engine.begin() as conn:
            self._groups_from(conn, now)

    def _groups_from(self, conn: Connection, now: datetime) -> None:
        self._groups = outbox.due_groups(conn=conn, now=now)
        self._groups_at = now

    def _claim(self, campaign_id: int | None, sender: str, now: datetime) -> Claim:
        rules = ClaimRules(
            self.worker_id,
            self.provider.name,
            self.config.batch_size,
            self.config.default_rate,
            self.config.burst,
            self.config.expiry,
            self.config.frequency_cap,
        )
        with self.engine.begin() as conn:
            batch = claim(conn, campaign_id=campaign_id, sender=sender, now=now, rules=rules)
        self.stats.deferred += batch.deferred
        self.stats.skipped += batch.skipped
        self.stats.expired += batch.expired
        if batch.wait is not None:
            self._wait = batch.wait if self._wait is None else min(self._wait, batch.wait)
        return batch

    # --- Recovery and sweeping (sender/delivery/sweeps.py)

    def recover(self, now: datetime | None = None) -> list[int]:
        """Takes over what a dead worker left `sending` (at startup, on SQLite); returns
        the messages it may have handed over, now unknown (the rest is queued again)."""
        self._recovered = True
        lost = sweeps.recover(self.engine, now or self.clock.now(), self.config.alive_for)
        self.stats.unknown += len(lost)
        return [i for i, _ in lost]

    def take_over(self, now: datetime | None = None) -> None:
        """Take the claims of workers whose lease ran out (every quarter of a lease)."""
        now = now or self.clock.now()
        self._next_takeover = now + self.config.alive_for / 4
        lost = sweeps.take_over(self.engine, now, self.config.alive_for)
        self.stats.unknown += len(lost)

    def sweep(self, now: datetime | None = None) -> None:
        """Expire what waited too long; mark unknown what was claimed longer than the
        lease; forget receipts that waited for an answer far too long."""
        now = now or self.clock.now()
        self._next_sweep = now + self.config.sweep_interval
        expired, lost = sweeps.sweep(
            self.engine,
            now,
            expiry=self.config.expiry,
            lease=self.config.lease,
            pending_receipts_kept=self.config.pending_receipts_kept,
        )
        self.stats.expired += len(expired)
        self.stats.unknown += len(lost)

    # --- Recording answers (on the database thread)

    def _release(self, batch: Claim) -> None:
        with self.engine.begin() as conn:
            outbox.release(
                conn=conn, ids=[m.id for m in batch.messages], worker_id=self.worker_id
            )

    def _record(
        self,
        batch: Claim,
        answers: dict[int, SubmitResult],
        at: datetime,
        handovers: Sequence[int] = (),
    ) -> None:
        outcomes = record_answers(
            self.engine,
            batch.messages,
            answers,
            at,
            worker_id=self.worker_id,
            provider=self.provider.name,
            clock=self.clock,
            retry=(self.config.retry_min, self.config.retry_max),
            handovers=handovers,
        )
        if outcomes is not None:
            self.stats.count(outcomes)
            for state, count in Counter(o.state for o in outcomes).items():
                MESSAGES_ANSWERED.labels(self.provider.name, state).inc(count)

    def close(self) -> None:
        """Close the provider (what it has in flight is finished or reported first), then
        give the lease up."""
        if self._started:
            self._started = False
            self.run(self.provider.close())
            with self.engine.begin() as conn:
                self.lease.end(conn)
        if self._loop is not None:
            self._loop.close()
            self._loop = None
        self._lanes.close()
        self._notes.close()


def default_worker_id() -> str:
    """host:pid:random, unique among live workers (and within 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(3).hex()}"


def worker_from_settings(
    engine: Engine, settings: Settings, clock: Clock, *, worker_id: str | None = None
) -> Worker:
    """A worker with the configured provider and default rate; receipts and inbound
    messages go to the database."""
    return Worker(
        engine,
        provider_from_settings(settings),
        clock,
        WorkerConfig.from_settings(settings, worker_id=worker_id),
        events=DatabaseEvents(engine, clock, settings),
    )
