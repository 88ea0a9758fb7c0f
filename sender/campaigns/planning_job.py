"""Planning as a job any worker can claim, that resumes by itself after a crash.

A campaign in `planning` (or `scheduled` whose `plan_at` has come) is a job. A worker's
chore loop claims it (a row lock, SKIP LOCKED on PostgreSQL, then `claimed_by` with a
lease in `claimed_until`) and plans it batch by batch, each batch in three steps:

1. read the next recipients after the cursor (the last contact id planned) and reserve
   their link ids, without a write lock (on SQLite, ids above the highest one; when links
   created meanwhile took some, the batch writes nothing and is planned again);
2. compute the batch in memory (consent, text, links, messages): no transaction, so no
   SQLite write lock is held while rendering;
3. one transaction that checks the job is still ours and still where we left it, writes
   the links and the messages together, and advances the cursor and the counters.

Steps 2 and 3 go WRITE_SLICE recipients at a time, each transaction only writing.

A worker killed mid-way loses at most the batch in hand, which left nothing behind; when
its lease runs out another worker claims the job and goes on from the cursor.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, text
from sqlalchemy import select as select_columns
from sqlmodel import Session, SQLModel, col, select

from richsms.clock import Clock
from richsms.db import read_session, session_scope
from richsms.errors import RichsmsError
from richsms.merge.contact import contact_fields
from richsms.settings import Settings
from sender.audience.models import Contact
from sender.audience.selection import COLUMNS, count_audience
from sender.campaigns.ab.planner import (
    AbPlanner,
    planner_for,
    planning_audience,
    status_after_planning,
)
from sender.campaigns.models import Campaign
from sender.campaigns.planner import BatchPlanner, PlannedBatch, Progress
from sender.campaigns.planning_writes import RowInsert, assign_batch_coupons, collector_paused
from sender.campaigns.states import FAILED, PLANNING, SCHEDULED, move
from sender.compose.composition import with_answers
from sender.delivery.choice_replies import answers_of
from sender.delivery.frequency_caps import COUNTED_AT_PLANNING, capped_among
from shortener.codes import CodeMaker
from shortener.models import Link

log = logging.getLogger("richsms.planning")

BATCH = 5_000
LEASE = timedelta(minutes=5)
ANALYZE_AFTER = 10_000
# On SQLite a batch's link ids follow the highest one when it was read; when other links
# took some meanwhile, the batch is planned again above a gap this wide (then wider).
GAP = 1_000
# Recipients written per transaction: a batch is read at once, then planned and written
# this many at a time, so that no transaction holds the database long.
WRITE_SLICE = 1_000

Rows = list[tuple[Any, dict[str, object]]]


@dataclass
class JobHooks:
    """Points where a caller looks in: `after_batch` after each commit (the CLI's progress
    bar; tests pausing the job), `before_commit` inside each batch's transaction (tests
    killing the process there)."""

    after_batch: Callable[[int, Progress], None] | None = None
    before_commit: Callable[[int, PlannedBatch], None] | None = None


@dataclass(frozen=True, slots=True)
class PlanningSetup:
    """What every job a `run_planning` call claims is planned with."""

    engine: Engine
    clock: Clock
    settings: Settings
    codes: CodeMaker
    worker_id: str
    lease: timedelta
    batch_size: int
    hooks: JobHooks


def worker_name() -> str:
    """host:pid:random, unique among live workers (and within 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(3).hex()}"


def claim_planning(
    *,
    session: Session,
    now: datetime,
    worker_id: str,
    lease: timedelta = LEASE,
    campaign_id: int | None = None,
) -> Campaign | None:
    """Claim the oldest planning job nobody holds (or whose lease ran out, or that this
    worker holds already), moving a scheduled campaign whose time has come to `planning`;
    flushes, the caller commits."""
    query = (
        select(Campaign)
        .where(
            or_(
                col(Campaign.status) == PLANNING,
                and_(col(Campaign.status) == SCHEDULED, col(Campaign.plan_at) <= now),
            ),
            or_(
                col(Campaign.claimed_until).is_(None),
                col(Campaign.claimed_until) < now,
                col(Campaign.claimed_by) == worker_id,  # ours: a step failed, go on
            ),
        )
        .order_by(col(Campaign.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if campaign_id is not None:
        query = query.where(col(Campaign.id) == campaign_id)
    campaign = session.exec(query).first()
    if campaign is None:
        return None
    if campaign.status == SCHEDULED:
        move(campaign, PLANNING, now=now)
    campaign.claimed_by = worker_id
    campaign.claimed_until = now + lease
    session.add(campaign)
    session.flush()
    return campaign


def release_claim(*, session: Session, campaign_id: int, worker_id: str) -> None:
    """Give the job back (shutting down): another worker may take it at once."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is not None and campaign.claimed_by == worker_id:
        campaign.claimed_by = None
        campaign.claimed_until = None
        session.add(campaign)
        session.flush()


def run_planning(
    *,
    engine: Engine,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    worker_id: str,
    lease: timedelta = LEASE,
    batch_size: int = BATCH,
    stop: threading.Event | None = None,
    campaign_id: int | None = None,
    hooks: JobHooks | None = None,
) -> list[int]:
    """Claim and plan jobs until none is left (or only `campaign_id`'s); returns the ids
    of the campaigns this call finished planning."""
    finished: list[int] = []
    setup = PlanningSetup(
        engine, clock, settings, codes, worker_id, lease, batch_size, hooks or JobHooks()
    )
    while stop is None or not stop.is_set():
        with session_scope(engine) as session:
            claimed = claim_planning(
                session=session,
                now=clock.now(),
                worker_id=worker_id,
                lease=lease,
                campaign_id=campaign_id,
            )
            claimed_id = claimed.id if claimed is not None else None
        if claimed_id is None:
            break
        if PlanningJob(setup, claimed_id).run(stop):
            finished.append(claimed_id)
        elif stop is not None and stop.is_set():
            with session_scope(engine) as session:
                release_claim(session=session, campaign_id=claimed_id, worker_id=worker_id)
        if campaign_id is not None:
            break
    return finished


class PlanningJob:
    """One claimed campaign, planned batch by batch (see the module docstring)."""

    def __init__(self, setup: PlanningSetup, campaign_id: int) -> None:
        self.setup = setup
        self.campaign_id = campaign_id
        self.batches = 0
        self._planner: BatchPlanner | AbPlanner | None = None
        self._condition: Any = None
        self._inserts: dict[str, RowInsert] = {}
        self._gap = 0  # link ids left free above the top one (SQLite; see `step`)

    def _bind(self, batch: PlannedBatch) -> dict[str, list[tuple[Any, ...]]]:
        """The batch's links and messages as the driver takes them."""
        bound: dict[str, list[tuple[Any, ...]]] = {}
        tables = (
            ("link", batch.links),
            ("message", batch.messages),
            ("ab_recipient", batch.assignments),
        )
        for table, rows in tables:
            if not rows:
                continue
            if table not in self._inserts:
                self._inserts[table] = RowInsert(
                    SQLModel.metadata.tables[table], list(rows[0]), self.setup.engine
                )
            bound[table] = self._inserts[table].bind(rows)
        return bound

    def run(self, stop: threading.Event | None = None) -> bool:
        """Plan until the campaign is `sending` (True), or the job is no longer ours, was
        cancelled, or `stop` is set (False)."""
        try:
            while stop is None or not stop.is_set():
                outcome = self.step()
                if outcome != "more":
                    return outcome == "finished"
        except RichsmsError as exc:
            self._fail(exc.message)
        return False

    def step(self) -> str:
        """One batch, read at once, then planned and written WRITE_SLICE recipients at a
        time: "more", "finished", or "lost" (not ours any more, or cancelled)."""
        now = self.setup.clock.now()
        with collector_paused():
            read = self._read(now)
        if read is None:
            return "lost"
        cursor, rows, top, total = read
        last_batch = len(rows) < self.setup.batch_size
        for start in range(0, max(len(rows), 1), WRITE_SLICE):
            part = rows[start : start + WRITE_SLICE]
            finishing = last_batch and start + WRITE_SLICE >= len(rows)
            outcome, cursor, top = self._slice(now, cursor, part, top, total, finishing)
            if outcome != "written":
                return outcome
        return "finished" if last_batch else "more"

    def _slice(
        self, now: datetime, cursor: int, rows: Rows, top: int | None, total: int, finishing: bool
    ) -> tuple[str, int, int | None]:
        """Plan `rows` (no transaction), then write them in one short transaction that
        checks the job is still ours and where we left it, and advances the cursor:
        ("written", the new cursor, the highest link id written), or "finished", "more"
        (read again), "lost"."""
        planner = self._planner
        assert planner is not None
        with collector_paused():
            link_ids = self._link_ids(planner, rows, top)
            batch = planner.plan(rows, link_ids)
            bound = self._bind(batch)  # all the CPU work done before the write lock is taken
        with session_scope(self.setup.engine) as session:
            campaign = self._locked(session)
            if campaign is None or campaign.planning_cursor != cursor:
                return "lost", cursor, top
            if self._taken(session, link_ids):
                # SQLite: links created since we read the top id took some of ours. Write
                # nothing: the next step plans again outside the lock, leaving a gap
                # (doubled each time) for the links created meanwhile.
                self._gap = max(GAP, 2 * self._gap)
                return "more", cursor, top
            unserved = assign_batch_coupons(
                session=session, clock=self.setup.clock, planner=planner, batch=batch
            )
            if unserved:  # a pool ran out: those recipients' messages are errors
                planner.unserved(batch, unserved)
                bound = self._bind(batch)
            if campaign.total_count is None:
                campaign.total_count = total
            self._write(session, campaign, batch, bound, now)
            if finishing:
                after = status_after_planning(
                    session=session, campaign=campaign, planner=planner, now=now
                )
                move(campaign, after, now=now, planned_at=now, claimed_by=None)
                campaign.claimed_until = None
            session.add(campaign)
            session.flush()
            self.batches += 1
            if self.setup.hooks.before_commit is not None:
                self.setup.hooks.before_commit(self.batches, batch)
            progress = Progress.of(campaign)
        if self.setup.hooks.after_batch is not None:
            self.setup.hooks.after_batch(self.batches, progress)
        if finishing:
            self._analyze(progress)
            log.info("campaign %s planned: %s", self.campaign_id, progress.as_dict())
            return "finished", cursor, top
        if top is not None and link_ids:  # SQLite: the next slice's ids follow ours
            top = link_ids[-1]
        return "written", batch.last_contact_id or cursor, top

    def _read(self, now: datetime) -> tuple[int, Rows, int | None, int] | None:
        """The next recipients after the cursor, read without any write lock; the planner
        is told those of them the frequency cap leaves out."""
        with read_session(self.setup.engine) as session:
            campaign = session.get(Campaign, self.campaign_id)
            if campaign is None or not self._ours(campaign):
                return None
            if self._planner is None:
                self._planner = planner_for(
                    session=session,
                    campaign=campaign,
                    settings=self.setup.settings,
                    codes=self.setup.codes,
                    now=now,
                )
                self._condition = planning_audience(session=session, campaign=campaign)
            if isinstance(self._planner, AbPlanner):
                self._planner.resume(session)
            total = campaign.total_count
            if total is None:
                total = count_audience(
                    session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
                )
            cursor = campaign.planning_cursor
            result = session.execute(
                select_columns(*COLUMNS)
                .where(col(Contact.id) > cursor, self._condition)
                .order_by(col(Contact.id))
                .limit(self.setup.batch_size)
            ).all()
            rows: Rows = [(row, contact_fields(row)) for row in result]
            if self._planner.reply_campaigns:
                answers = answers_of(
                    session, [row.id for row, _ in rows], self._planner.reply_campaigns
                )
                rows = [(row, with_answers(f, answers.get(row.id, {}))) for row, f in rows]
            self._planner.cap(self._capped(session, rows))
            top = _top_link_id(session) if self._predicts_link_ids else None
            return cursor, rows, top, total

    def _capped(self, session: Session, rows: Rows) -> set[int]:
        """The batch's recipients whose promotional messages, sent or to go, fill the
        campaign's frequency cap around the time theirs is due: one query per due time
        (one, or one per time zone for a local schedule; an A/B test's first variant's)."""
        planner = self._planner
        first = planner.parts[0] if isinstance(planner, AbPlanner) else planner
        if first is None or first.frequency_cap is None:
            return set()
        due: dict[datetime, list[int]] = {}
        for row, _fields in rows:
            due.setdefault(first.due(row.timezones), []).append(int(row.id))
        return capped_among(session, first.frequency_cap, due, COUNTED_AT_PLANNING)

    @property
    def _predicts_link_ids(self) -> bool:
        return self.setup.engine.dialect.name != "postgresql"

    def _link_ids(
        self, planner: BatchPlanner | AbPlanner, rows: Rows, top: int | None
    ) -> list[int]:
        if not planner.uses_link:
            return []
        count = planner.links_needed(rows)
        if count == 0:
            return []
        if top is not None:
            first = top + 1 + self._gap
            return list(range(first, first + count))
        with self.setup.engine.connect() as conn:  # a sequence hands out ids outside transactions
            result = conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('link', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": count},
            )
            ids = [int(r[0]) for r in result]
            conn.commit()
        return ids

    def _taken(self, session: Session, link_ids: list[int]) -> bool:
        return bool(link_ids) and self._predicts_link_ids and _top_link_id(session) >= link_ids[0]

    def _locked(self, session: Session) -> Campaign | None:
        """The campaign, locked, if it is still planning and ours."""
        campaign = session.get(Campaign, self.campaign_id, with_for_update=True)
        return campaign if campaign is not None and self._ours(campaign) else None

    def _ours(self, campaign: Campaign) -> bool:
        return campaign.status == PLANNING and campaign.claimed_by == self.setup.worker_id

    def _write(
        self,
        session: Session,
        campaign: Campaign,
        batch: PlannedBatch,
        bound: dict[str, list[tuple[Any, ...]]],
        now: datetime,
    ) -> None:
        for table in ("link", "message", "ab_recipient"):  # links first: messages use them
            if table in bound:
                self._inserts[table].execute(session, bound[table])
        if batch.last_contact_id:
            campaign.planning_cursor = batch.last_contact_id
        campaign.planned_count += batch.counts.planned
        campaign.excluded_count += batch.counts.excluded
        if batch.exclusions:
            exclusions = dict(campaign.exclusions or {})
            for reason, count in batch.exclusions.items():
                exclusions[reason] = exclusions.get(reason, 0) + count
            campaign.exclusions = exclusions
        campaign.error_count += batch.counts.errors
        campaign.claimed_until = now + self.setup.lease

    def _analyze(self, progress: Progress) -> None:
        if progress.planned >= ANALYZE_AFTER and self.setup.engine.dialect.name == "postgresql":
            # Fresh statistics now, not when autovacuum gets to it: with stale ones the
            # workers' claim query sorts the whole outbox instead of reading its index.
            with self.setup.engine.begin() as conn:
                conn.execute(text("ANALYZE message"))

    def _fail(self, reason: str) -> None:
        log.warning("planning campaign %s failed: %s", self.campaign_id, reason)
        with session_scope(self.setup.engine) as session:
            campaign = self._locked(session)
            if campaign is not None:
                move(
                    campaign,
                    FAILED,
                    now=self.setup.clock.now(),
                    failure=reason,
                    claimed_by=None,
                    claimed_until=None,
                )
                session.add(campaign)


def _top_link_id(session: Session) -> int:
    top = session.execute(select_columns(func.coalesce(func.max(col(Link.id)), 0)))
    return int(top.scalar_one())
