"""The sending worker: takes due messages out of the outbox and hands them to a provider.

One step (`run_once`) promotes planned messages that are due, sweeps (expiry, stale
claims), then for each group of due messages sharing rate limits, in one transaction:
locks and refills the group's token buckets, locks a small batch of due messages (FOR
UPDATE SKIP LOCKED), re-reads their recipients, pushes those outside their quiet hours to
the next allowed instant, skips those the consent rule refuses, and marks at most as many
as there are tokens `sending` (sending_at, claimed_by). Only after that commit are they
handed to the provider, one by one; the answers are committed afterwards.

So a message is never handed over twice: a worker that dies leaves at most its batch in
`sending`, and `sending` is never resent. It becomes `unknown` when its lease runs out
(another worker's sweep), or at once when a worker starts on SQLite, where only one
worker runs by design.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender import outbox
from sender.consent import current_recipients, message_refusal
from sender.models import FAILED, QUEUED, SENT, UNKNOWN
from sender.outbox import DueMessage, Outcome
from sender.providers import OutgoingMessage, Provider, SendResult, provider_from_settings
from sender.rate import Route, lock_budget, route_for
from sender.windows import next_allowed
from shortener.codes import CodeMaker

log = logging.getLogger("richsms.worker")


@dataclass
class WorkerStats:
    """What this worker did since it started (the outbox holds the durable record)."""

    handed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    skipped: int = 0
    expired: int = 0
    unknown: int = 0


@dataclass
class Chore:
    """Work a worker also does every so often (planning scheduled campaigns, automations)."""

    name: str
    every: timedelta
    run: Callable[[], object]
    next_at: datetime | None = None


class Worker:
    """See the module docstring. `run_once` is one step; `run_forever` loops until stopped.

    - `lease`: a message `sending` for longer than this is presumed lost (its worker died)
      and marked `unknown`; it must exceed the longest time a batch takes to hand over.
    - `expiry`: a message not sent this long after it became due is `expired`.
    - `default_rate`: messages/s for messages with neither a campaign nor a sender number.
    - `burst`: seconds of rate a bucket may save up while nothing is sent.
    """

    def __init__(
        self,
        engine: Engine,
        provider: Provider,
        clock: Clock,
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        idle_sleep: float = 0.5,
        lease: timedelta = timedelta(minutes=5),
        expiry: timedelta = timedelta(hours=24),
        default_rate: float = 10.0,
        burst: float = 1.0,
        sweep_interval: timedelta = timedelta(seconds=30),
        groups_refresh: timedelta = timedelta(seconds=1),
        retry_min: timedelta = timedelta(seconds=30),
        retry_max: timedelta = timedelta(hours=1),
        chores: Sequence[Chore] = (),
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.engine = engine
        self.provider = provider
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.lease = lease
        self.expiry = expiry
        self.default_rate = default_rate
        self.burst = burst
        self.sweep_interval = sweep_interval
        self.groups_refresh = groups_refresh
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.stats = WorkerStats()
        self.chores = list(chores)
        self._stop = threading.Event()
        self._recovered = False
        self._next_sweep: datetime | None = None
        self._groups: list[tuple[int | None, str]] | None = None
        self._groups_at: datetime | None = None
        self._wait: float | None = None
        self._active = False
        self._turn = 0

    # --- The loop

    def run_forever(self, stop: threading.Event) -> None:
        """Step until `stop` is set; the message in hand is finished first."""
        self._stop = stop
        log.info("worker %s started (%s provider)", self.worker_id, self.provider.name)
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("worker step failed; trying again shortly")
                stop.wait(max(self.idle_sleep, 1.0))
                continue
            if not self._active:
                stop.wait(self.pause)
        log.info("worker %s stopped", self.worker_id)

    def stop(self) -> None:
        """Ask the loop (or the step in progress) to stop after the message in hand."""
        self._stop.set()

    @property
    def pause(self) -> float:
        """How long to sleep after an idle step: until a token is due, at most idle_sleep."""
        if self._wait is None:
            return self.idle_sleep
        return max(0.001, min(self.idle_sleep, self._wait))

    def run_once(self) -> int:
        """One step; returns how many messages were handed to the provider."""
        now = self.clock.now()
        self._wait = None
        self._active = False
        if not self._recovered:
            self.recover(now)
        if self._next_sweep is None or now >= self._next_sweep:
            self.sweep(now)
        self._run_chores(now)
        with self.engine.begin() as conn:
            promoted = outbox.promote_due(conn=conn, now=now)
            if promoted:
                self._active = True
            if promoted or self._groups is None or self._groups_stale(now):
                self._refresh_groups(conn, now)
        handed, empty = self._step_groups(now)
        if empty and self._groups and not self._stop.is_set():
            # Every group we knew of has run dry: look again for new ones.
            with self.engine.begin() as conn:
                self._refresh_groups(conn, now)
            more, _ = self._step_groups(now)
            handed += more
        return handed

    def _run_chores(self, now: datetime) -> None:
        for chore in self.chores:
            if chore.next_at is not None and now < chore.next_at:
                continue
            chore.next_at = now + chore.every
            try:
                chore.run()
            except Exception:
                log.exception("%s failed; trying again in %s", chore.name, chore.every)

    def _groups_stale(self, now: datetime) -> bool:
        return self._groups_at is None or now - self._groups_at >= self.groups_refresh

    def _refresh_groups(self, conn: Connection, now: datetime) -> None:
        self._groups = outbox.due_groups(conn=conn, now=now)
        self._groups_at = now

    def _step_groups(self, now: datetime) -> tuple[int, bool]:
        """Claims and sends one batch per group; also says whether every group was empty."""
        handed = 0
        empty = True
        groups = list(self._groups or [])
        if groups:  # take turns at going first: groups sharing a sender share it fairly
            self._turn = (self._turn + 1) % len(groups)
            groups = groups[self._turn :] + groups[: self._turn]
        for campaign_id, sender in groups:
            if self._stop.is_set():
                return handed, False
            claimed, sender_value, found = self._claim(campaign_id, sender, now)
            empty = empty and not found
            handed += self._deliver(claimed, sender_value)
        return handed, empty

    # --- Recovery and sweeping

    def recover(self, now: datetime | None = None) -> list[int]:
        """At startup on SQLite (one worker by design) whatever is `sending` was left by a
        worker that died: it becomes unknown. On PostgreSQL other workers may be alive;
        their claims are left to the lease."""
        self._recovered = True
        if self.engine.dialect.name != "sqlite":
            return []
        with self.engine.begin() as conn:
            lost = outbox.mark_unknown(conn=conn, now=now or self.clock.now(), claimed_before=None)
        self._report_unknown(lost, "found at startup")
        return [i for i, _ in lost]

    def sweep(self, now: datetime | None = None) -> None:
        """Expire what waited too long; mark unknown what was claimed longer than the lease."""
        now = now or self.clock.now()
        self._next_sweep = now + self.sweep_interval
        with self.engine.begin() as conn:
            expired = outbox.expire_overdue(conn=conn, now=now, expiry=self.expiry)
            lost = outbox.mark_unknown(conn=conn, now=now, claimed_before=now - self.lease)
        if expired:
            self.stats.expired += len(expired)
            log.info("%d messages expired (not sent within %s)", len(expired), self.expiry)
        self._report_unknown(lost, f"lease of {self.lease} ran out")

    def _report_unknown(self, lost: Sequence[tuple[int, str | None]], why: str) -> None:
        if not lost:
            return
        self.stats.unknown += len(lost)
        shown = ", ".join(f"{i} (by {worker})" for i, worker in lost[:20])
        more = f" and {len(lost) - 20} more" if len(lost) > 20 else ""
        log.warning(
            "%d messages marked unknown, %s: handed to the provider with no answer recorded, "
            "never resent: %s%s",
            len(lost),
            why,
            shown,
            more,
        )

    # --- Claiming

    def _claim(
        self, campaign_id: int | None, sender: str, now: datetime
    ) -> tuple[list[DueMessage], str, bool]:
        """One transaction: tokens, then messages. Returns the messages now `sending`, the
        sender to send them from, and whether any due message was found."""
        with self.engine.begin() as conn:
            route = route_for(conn, campaign_id, sender, default_rate=self.default_rate)
            if route.paused:
                return [], route.sender, True
            budget = lock_budget(conn, route.limits, now, self.burst)
            available = min(budget.available, self.batch_size)
            if available == 0:
                self._note_wait(budget.wait())
                return [], route.sender, True
            due = outbox.lock_due(
                conn=conn, now=now, campaign_id=campaign_id, sender=sender, limit=self.batch_size
            )
            if not due:
                return [], route.sender, False
            self._active = True
            sendable = self._sort(conn, due, route, now)[:available]
            outbox.mark_sending(
                conn=conn, ids=[m.id for m in sendable], now=now, worker_id=self.worker_id
            )
            budget.spend(conn, len(sendable))
            if len(sendable) == available and budget.available == 0:
                self._note_wait(budget.wait())
        return sendable, route.sender, True

    def _note_wait(self, seconds: float) -> None:
        self._wait = seconds if self._wait is None else min(self._wait, seconds)

    def _sort(
        self, conn: Connection, due: list[DueMessage], route: Route, now: datetime
    ) -> list[DueMessage]:
        """Expire, defer and skip what may not go now (in this transaction); returns the
        rest, in order."""
        by_id, by_phone = current_recipients(
            conn,
            contact_ids={m.contact_id for m in due if m.contact_id is not None},
            phones={m.phone for m in due if m.contact_id is None and not m.is_test},
        )
        sendable: list[DueMessage] = []
        deferrals: list[tuple[int, datetime]] = []
        skips: list[tuple[int, str]] = []
        expired: list[int] = []
        too_late = now - self.expiry
        for m in due:
            if m.waiting_since < too_late:
                expired.append(m.id)
                continue
            recipient = by_id.get(m.contact_id) if m.contact_id is not None else None
            if m.contact_id is None and not m.is_test:
                recipient = by_phone.get(m.phone)
            zones = (m.timezones or (recipient.timezones if recipient else "")).split()
            try:
                when = next_allowed(now, zones, m.window)
            except InvalidInput as exc:
                skips.append((m.id, f"quiet hours: {exc.message}"))
                continue
            if when > now:
                if when - m.waiting_since > self.expiry:
                    expired.append(m.id)
                else:
                    deferrals.append((m.id, when))
                continue
            reason = message_refusal(
                type=m.type,
                is_test=m.is_test,
                contact=(recipient.status, recipient.consent_type) if recipient else None,
                known=m.contact_id is not None,
            )
            if reason is None and route.allowed_types and m.type not in route.allowed_types:
                reason = f"the sender {route.sender} may not carry {m.type} messages"
            if reason is not None:
                skips.append((m.id, reason))
                continue
            sendable.append(m)
        outbox.defer(conn=conn, deferrals=deferrals)
        outbox.skip(conn=conn, skips=skips)
        if expired:
            hours = self.expiry.total_seconds() / 3600
            outbox.expire(
                conn=conn, ids=expired, now=now, reason=outbox.EXPIRED_REASON.format(hours=hours)
            )
        self.stats.deferred += len(deferrals)
        self.stats.skipped += len(skips)
        self.stats.expired += len(expired)
        return sendable

    # --- Handing over

    def _deliver(self, claimed: list[DueMessage], sender: str) -> int:
        """Hands each claimed message to the provider and records the answers. Stops after
        the message in hand when asked to; what was not handed goes back to the queue."""
        outcomes: list[Outcome] = []
        handed = 0
        for m in claimed:
            if self._stop.is_set():
                break
            handed += 1
            message = OutgoingMessage(
                id=m.id,
                phone=m.phone,
                sender=m.sender or sender,
                text=m.text,
                type=m.type,
                encoding=m.encoding,
                segments=m.segments,
            )
            try:
                result = self.provider.send(message)
            except Exception as exc:
                log.exception("provider %s failed on message %d", self.provider.name, m.id)
                outcomes.append(
                    Outcome(
                        m.id,
                        UNKNOWN,
                        self.clock.now(),
                        error=f"the provider raised {type(exc).__name__}: {exc}; "
                        "it may have been sent, so it is never resent automatically",
                    )
                )
                break
            outcomes.append(self._outcome(m, result))
        rest = [m.id for m in claimed[handed:]]
        self._record(outcomes, rest)
        return handed

    def _outcome(self, m: DueMessage, result: SendResult) -> Outcome:
        at = self.clock.now()
        if result.provider_id is not None:
            return Outcome(m.id, SENT, at, provider_id=result.provider_id)
        error = result.error or "refused by the provider"
        if result.temporary:
            delay = min(self.retry_max, max(self.retry_min, at - m.waiting_since))
            return Outcome(m.id, QUEUED, at, error=error, retry_at=at + delay)
        return Outcome(m.id, FAILED, at, error=error)

    def _record(self, outcomes: list[Outcome], unhanded: list[int]) -> None:
        if not outcomes and not unhanded:
            return
        for attempt in range(1, 4):
            try:
                with self.engine.begin() as conn:
                    outbox.record(conn=conn, outcomes=outcomes, worker_id=self.worker_id)
                    outbox.release(conn=conn, ids=unhanded, worker_id=self.worker_id)
                break
            except DBAPIError:
                if attempt == 3:
                    log.exception(
                        "could not record %d answers; they will turn unknown after the lease",
                        len(outcomes),
                    )
                    return
                log.warning("recording answers failed (attempt %d); retrying", attempt)
                time.sleep(0.5 * attempt)
        self.stats.handed += len(outcomes)
        for o in outcomes:
            if o.state == SENT:
                self.stats.sent += 1
            elif o.state == QUEUED:
                self.stats.retried += 1
            elif o.state == UNKNOWN:
                self.stats.unknown += 1
                log.warning("message %d marked unknown: %s", o.id, o.error)
            else:
                self.stats.failed += 1

    def close(self) -> None:
        self.provider.close()


def default_worker_id() -> str:
    """host:pid:random, unique among live workers (and within 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(3).hex()}"


def worker_from_settings(
    engine: Engine, settings: Settings, clock: Clock, *, worker_id: str | None = None
) -> Worker:
    """A worker with the configured provider and default rate, which also plans scheduled
    campaigns when their time comes and runs the automations."""
    from sender.automations import run_automations
    from sender.scheduler import plan_due_campaigns

    codes = CodeMaker(settings.secret_key.reveal())
    chores = [
        Chore(
            "planning scheduled campaigns",
            timedelta(seconds=30),
            lambda: plan_due_campaigns(engine=engine, clock=clock, settings=settings, codes=codes),
        ),
        Chore(
            "automations",
            timedelta(minutes=5),
            lambda: run_automations(engine=engine, clock=clock, settings=settings, codes=codes),
        ),
    ]
    return Worker(
        engine,
        provider_from_settings(settings),
        clock,
        worker_id=worker_id,
        default_rate=settings.default_rate,
        chores=chores,
    )


class WorkerThread:
    """A worker in a thread of its own, for `richsms serve`: start, then stop on shutdown."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.worker.run_forever, args=(self._stop,), name="richsms-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.worker.close()
