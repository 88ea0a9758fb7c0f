"""Chores: planning jobs (including scheduled campaigns whose time has come), campaigns
that are done, A/B tests whose decision is due, automations, webhooks and the event
retention, in a loop of their own, never inside the send loop, so that a transactional
message is never held up by a million-recipient plan.

`richsms worker` and `richsms serve` (when it runs a worker) run one `ChoreLoop` in a
thread next to the sending worker (richsms/runtime.py owns the thread). Several processes
may run one each: planning jobs are claimed (see sender/campaigns/planning_job.py), the
other chores are set-based and idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from landing_templates.coupons.pools import discard_abandoned
from richsms.clock import Clock
from richsms.db import session_scope
from richsms.settings import Settings
from sender.campaigns.ab.decision import decide_due_tests
from sender.campaigns.campaign import finish_sent_campaigns
from sender.campaigns.planning_job import BATCH, LEASE, JobHooks, run_planning, worker_name
from sender.results.report_cache import refresh_reports
from sender.results.retention import prune_events
from sender.webhooks.delivery import run_webhooks
from shortener.codes import CodeMaker

log = logging.getLogger("richsms.chores")


@dataclass
class Chore:
    """Something done every `every` seconds of this process's time (a monotonic clock:
    pacing is not domain time, which tests freeze)."""

    name: str
    every: float
    run: Callable[[threading.Event], object]
    next_at: float | None = None


class ChoreLoop:
    """Runs each chore when it is due; `run_once` is one turn, `run_forever` loops until
    stopped (the batch in hand is finished first: a planning job gives its claim back)."""

    def __init__(
        self,
        chores: Sequence[Chore],
        *,
        idle_sleep: float = 0.2,
        closers: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.chores = list(chores)
        self.closers = list(closers)  # what the chores opened (an HTTP client), closed last
        self.idle_sleep = idle_sleep
        self._stop = threading.Event()

    def run_once(self, *, force: bool = False) -> None:
        """Run every chore that is due (every chore with `force`)."""
        for chore in self.chores:
            if self._stop.is_set():
                return
            now = time.monotonic()
            if not force and chore.next_at is not None and now < chore.next_at:
                continue
            try:
                chore.run(self._stop)
            except Exception:
                log.exception("%s failed; trying again in %ss", chore.name, chore.every)
            chore.next_at = time.monotonic() + chore.every

    def run_forever(self, stop: threading.Event) -> None:
        self._stop = stop
        log.info("chores started: %s", ", ".join(c.name for c in self.chores))
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._pause())
        log.info("chores stopped")

    def _pause(self) -> float:
        due = [c.next_at for c in self.chores if c.next_at is not None]
        if not due:
            return self.idle_sleep
        return max(0.01, min(self.idle_sleep, min(due) - time.monotonic()))

    def close(self) -> None:
        for close in self.closers:
            close()
        self.closers.clear()


def chores_from_settings(
    engine: Engine,
    settings: Settings,
    clock: Clock,
    *,
    worker_id: str | None = None,
    hooks: JobHooks | None = None,
    planning_batch: int = BATCH,
    planning_every: float = 1.0,
    finishing_every: float = 1.0,
    automations_every: float = 300.0,
    triggers_every: float = 1.0,
    reports_every: float = 30.0,
    pools_every: float = 60.0,
    retention_every: float = 3600.0,
) -> ChoreLoop:
    """The chore loop of a worker process: planning, finishing campaigns, automations and
    the outside events that start them."""
    from sender.campaigns.automations import run_automations
    from sender.campaigns.trigger_sending import process_triggers

    codes = CodeMaker(settings.secret_key.reveal())
    worker = worker_id or worker_name()

    def plan(stop: threading.Event) -> object:
        return run_planning(
            engine=engine,
            clock=clock,
            settings=settings,
            codes=codes,
            worker_id=worker,
            lease=LEASE,
            batch_size=planning_batch,
            stop=stop,
            hooks=hooks,
        )

    def finish(_stop: threading.Event) -> object:
        with session_scope(engine) as session:
            done = finish_sent_campaigns(session=session, clock=clock)
        if done:
            log.info("campaigns done (every message reached a final state): %s", done)
        return done

    def decide(_stop: threading.Event) -> object:
        return decide_due_tests(engine=engine, clock=clock)

    def report(_stop: threading.Event) -> object:
        return refresh_reports(
            engine=engine,
            now=clock.now(),
            price_per_segment=settings.price_per_segment,
            currency=settings.currency,
        )

    def abandoned_pools(_stop: threading.Event) -> object:
        with session_scope(engine) as session:
            return discard_abandoned(session=session, now=clock.now())

    def prune(stop: threading.Event) -> object:
        pruned = prune_events(
            engine=engine,
            now=clock.now(),
            retention_days=settings.event_retention_days,
            budget_ms=settings.write_budget_ms / 2,
            stop=stop,
        )
        if pruned.batches:
            log.info("old events folded and deleted: %s", pruned.as_dict())
        return pruned

    def automate(_stop: threading.Event) -> object:
        return run_automations(engine=engine, clock=clock, settings=settings, codes=codes)

    def trigger(_stop: threading.Event) -> object:
        return process_triggers(engine=engine, clock=clock, settings=settings, codes=codes)

    return ChoreLoop(
        [
            Chore("planning", planning_every, plan),
            Chore("finishing campaigns", finishing_every, finish),
            # A/B tests whose decision is due: the rest of the audience gets the winner.
            Chore("A/B test decisions", finishing_every, decide),
            Chore("automations", automations_every, automate),
            Chore("outside events", triggers_every, trigger),
            # Results of campaigns still moving, kept ready (sender/results/report_cache.py).
            Chore("campaign reports", reports_every, report),
            # Coupon pools whose import died midway (landing_templates/coupons/pools.py).
            Chore("abandoned pool imports", pools_every, abandoned_pools),
            # Raw clicks and page events past RICHSMS_EVENT_RETENTION_DAYS, folded into
            # rollups and deleted (sender/results/retention.py): each day's are due at
            # UTC midnight, so looking hourly keeps none more than an hour past its time.
            Chore("event retention", retention_every, prune),
        ],
    )


def webhook_loop(
    engine: Engine, settings: Settings, clock: Clock, *, every: float = 2.0
) -> ChoreLoop:
    """Webhooks in a loop (a thread) of their own: events read after the fact, delivered
    from their own outbox; a slow receiver holds up this loop only, never planning."""

    def notify(_stop: threading.Event) -> object:
        allow_private = settings.webhooks_allow_private
        return run_webhooks(engine=engine, clock=clock, allow_private=allow_private)

    return ChoreLoop([Chore("webhooks", every, notify)])
