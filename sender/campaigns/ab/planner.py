"""Planning an A/B tested campaign: its test recipients drawn and composed per variant,
then, once decided, the rest of its audience composed with the winner.

The draw is seeded by the campaign and made slice by slice in contact id order: each
slice tests its share of the eligible recipients so far (`test_share` of them, rounded),
picked at random, and gives each picked recipient the variant that has the fewest so far
(ties drawn at random), so that the variants stay even to one recipient. Every
recipient's variant (None for the rest of the audience) is written with the slice's
messages (`AbRecipient`): a crash or a resume never draws again; a slice planned again
after a lost write draws the same, from the counts committed before it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from richsms.settings import Settings
from sender.audience.models import Contact
from sender.audience.selection import audience_condition
from sender.campaigns.ab.spec import AbTestSpec, parse_ab_test, variant_campaign
from sender.campaigns.models import AbOutcome, AbRecipient, Campaign
from sender.campaigns.planner import BatchPlanner, PageTarget, PlannedBatch
from sender.campaigns.states import SENDING, TESTING
from shortener.codes import CodeMaker

Rows = Sequence[tuple[Any, Mapping[str, object]]]


def winner_of(session: Session, campaign: Campaign) -> int | None:
    """The variant the rest of the audience gets, once decided (None before, or for a
    campaign without a test)."""
    if campaign.ab_test is None or campaign.id is None:
        return None
    outcome = session.get(AbOutcome, campaign.id)
    return outcome.winner if outcome is not None else None


def planner_for(
    *, session: Session, campaign: Campaign, settings: Settings, codes: CodeMaker, now: datetime
) -> BatchPlanner | AbPlanner:
    """The planner of the campaign's next pass: the campaign's own, its test's (each
    variant's), or the winner's for the rest of the audience."""
    options: dict[str, Any] = {"session": session, "settings": settings, "codes": codes, "now": now}
    if campaign.ab_test is None:
        return BatchPlanner(campaign=campaign, **options)
    winner = winner_of(session, campaign)
    if winner is not None:
        return BatchPlanner(campaign=variant_campaign(campaign, winner), **options)
    return AbPlanner(campaign=campaign, **options)


def planning_audience(*, session: Session, campaign: Campaign) -> ColumnElement[bool]:
    """Who the next pass reads: the campaign's audience, or, once its test is decided, the
    rest of the audience as drawn when the test was planned."""
    if winner_of(session, campaign) is None:
        return audience_condition(
            session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
        )
    rest = select(col(AbRecipient.contact_id)).where(
        col(AbRecipient.campaign_id) == campaign.id, col(AbRecipient.variant).is_(None)
    )
    return col(Contact.id).in_(rest)


def status_after_planning(
    *, session: Session, campaign: Campaign, planner: BatchPlanner | AbPlanner, now: datetime
) -> str:
    """`testing` when the pass just planned was a test (its decision is then due
    `decide_after_minutes` after the last variant leaves), else `sending`. Flushes."""
    if not isinstance(planner, AbPlanner):
        return SENDING
    assert campaign.id is not None
    starts = [now, *(t for t in planner.departures if t is not None)]
    decide_at = max(starts) + timedelta(minutes=planner.spec.decide_after_minutes)
    outcome = session.get(AbOutcome, campaign.id)
    if outcome is None:
        session.add(AbOutcome(campaign_id=campaign.id, decide_at=decide_at))
    else:
        outcome.decide_at = decide_at
    session.flush()
    return TESTING


class AbPlanner:
    """The test's pass: one `BatchPlanner` per variant, and the draw that sends each
    eligible recipient to one of them or to the rest of the audience."""

    def __init__(
        self,
        *,
        session: Session,
        campaign: Campaign,
        settings: Settings,
        codes: CodeMaker,
        now: datetime,
    ) -> None:
        assert campaign.id is not None and campaign.ab_test is not None
        self.campaign_id = campaign.id
        self.spec: AbTestSpec = parse_ab_test(campaign.ab_test)
        self.parts = [
            BatchPlanner(
                session=session,
                campaign=variant_campaign(campaign, index),
                settings=settings,
                codes=codes,
                now=now,
            )
            for index in range(len(self.spec.variants))
        ]
        # Every variant's pages: their coupons are assigned to whoever's link shows them.
        self.pages: dict[int, PageTarget] = {}
        for part in self.parts:
            self.pages.update(part.pages)
        self.departures = [
            part.send_at if part.schedule == "at" else None for part in self.parts
        ]
        # Every variant's reply fields (`reply.campaign_<id>`): read once per batch.
        self.reply_campaigns = tuple(sorted({c for p in self.parts for c in p.reply_campaigns}))
        self.seed = f"richsms-ab:{campaign.id}"
        self.seen = 0  # eligible recipients drawn so far (tested or not)
        self.tested = [0] * len(self.parts)  # recipients of each variant so far

    def resume(self, session: Session) -> None:
        """The counts committed so far: where the draw goes on from."""
        rows = session.execute(
            select(col(AbRecipient.variant), func.count())
            .where(col(AbRecipient.campaign_id) == self.campaign_id)
            .group_by(col(AbRecipient.variant))
        ).all()
        self.seen = sum(int(n) for _, n in rows)
        self.tested = [0] * len(self.parts)
        for variant, n in rows:
            if variant is not None:
                self.tested[int(variant)] = int(n)

    @property
    def uses_link(self) -> bool:
        return any(part.uses_link for part in self.parts)

    def cap(self, capped: AbstractSet[int]) -> None:
        """The contacts of the batch in hand the frequency cap leaves out, for every
        variant's planner."""
        for part in self.parts:
            part.cap(capped)

    def eligible(self, rows: Rows) -> list[int]:
        return self.parts[0].eligible(rows)  # one campaign: one type, one consent rule

    def draw(self, rows: Rows, eligible: Sequence[int]) -> list[int | None]:
        """Each eligible row's variant (None: the rest), from the counts so far; the same
        rows and counts always draw the same."""
        n = len(eligible)
        if n == 0:
            return []
        already = sum(self.tested)
        wanted = int(self.spec.test_share * (self.seen + n) + 0.5) - already
        picked = max(0, min(n, wanted))
        rng = random.Random(f"{self.seed}:{rows[eligible[0]][0].id}")
        counts = list(self.tested)
        drawn: list[int | None] = [None] * n
        for position in rng.sample(range(n), picked):
            fewest = min(counts)
            variant = rng.choice([v for v, c in enumerate(counts) if c == fewest])
            counts[variant] += 1
            drawn[position] = variant
        return drawn

    def links_needed(self, rows: Rows) -> int:
        eligible = self.eligible(rows)
        drawn = self.draw(rows, eligible)
        return sum(1 for v in drawn if v is not None and self.parts[v].uses_link)

    def plan(self, rows: Rows, link_ids: Sequence[int]) -> PlannedBatch:
        """The slice's messages, each variant's composed by its planner, and every
        eligible recipient's variant; advances the draw's counts."""
        eligible = self.eligible(rows)
        drawn = self.draw(rows, eligible)
        batch = PlannedBatch(last_contact_id=int(rows[-1][0].id) if rows else 0)
        chosen = set(eligible)
        # Those left out are counted, with their reasons, as the campaign's planner does.
        left_out = self.parts[0].plan([r for i, r in enumerate(rows) if i not in chosen], [])
        batch.counts.excluded = left_out.counts.excluded
        batch.exclusions = dict(left_out.exclusions)
        ids = iter(link_ids)
        for variant, part in enumerate(self.parts):
            picked = [rows[i] for i, v in zip(eligible, drawn, strict=True) if v == variant]
            if not picked:
                continue
            wanted = len(picked) if part.uses_link else 0
            planned = part.plan(picked, [next(ids) for _ in range(wanted)])
            batch.links.extend(planned.links)
            batch.messages.extend(planned.messages)
            batch.page_of.update(planned.page_of)
            for reason, count in planned.exclusions.items():
                batch.exclusions[reason] = batch.exclusions.get(reason, 0) + count
            batch.counts.excluded += planned.counts.excluded
            batch.counts.planned += planned.counts.planned
            batch.counts.errors += planned.counts.errors
        batch.assignments = [
            {"campaign_id": self.campaign_id, "contact_id": int(rows[i][0].id), "variant": v}
            for i, v in zip(eligible, drawn, strict=True)
        ]
        self.seen += len(eligible)
        for v in drawn:
            if v is not None:
                self.tested[v] += 1
        return batch

    def unserved(self, batch: PlannedBatch, reasons: Mapping[int, str]) -> None:
        # A message row holds what the campaign gives every variant's: any part rebuilds it.
        self.parts[0].unserved(batch, reasons)
