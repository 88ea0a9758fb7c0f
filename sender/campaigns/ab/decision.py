"""An A/B test's figures and its decision.

Each variant's figures are read from the record, for its test recipients only: the
messages handed over, the people who tapped their link (human clicks), the coupons
issued and redeemed. When the decision is due (the chore loop, `decide_due_tests`), the
best variant by the test's metric is compared with the next best by a two-proportion
z-test (sender/campaigns/ab/two_proportions.py): significant at 95%, it wins; otherwise the
fallback variant is sent, or the campaign waits for the marketer (`choose_variant`).
Either way the rest of the audience is then planned with the variant chosen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, distinct, func, select, union_all
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from richsms.clock import Clock
from richsms.db import get_or_not_found, read_session, session_scope
from richsms.errors import Conflict, InvalidInput
from sender.campaigns import states
from sender.campaigns.ab.spec import AbTestSpec, parse_ab_test, variant_name
from sender.campaigns.ab.two_proportions import Comparison, compare
from sender.campaigns.models import AbOutcome, AbRecipient, Campaign
from sender.delivery.models import DELIVERED, SENT, UNDELIVERED, Message
from shortener.click_days import ClickDay
from shortener.models import Click, Link

log = logging.getLogger("richsms.ab_tests")

HANDED_OVER = (SENT, DELIVERED, UNDELIVERED)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the test shows: the best variant against the next best, and the decision
    the test's settings draw from it (`winner`, `fallback` or `waiting`)."""

    decision: str
    winner: int | None
    best: int
    runner_up: int
    comparison: Comparison


def _per_variant(session: Session, statement: Any) -> dict[int, int]:
    return {int(v): int(n) for v, n in session.execute(statement).all() if v is not None}


def variant_figures(
    *, session: Session, campaign_id: int, spec: AbTestSpec
) -> list[dict[str, Any]]:
    """Each variant's figures over its test recipients, side by side, with its rate by
    the test's metric (None when nothing to divide by)."""
    variant = col(AbRecipient.variant)
    ours = and_(col(AbRecipient.campaign_id) == campaign_id, variant.is_not(None))
    recipients = _per_variant(
        session, select(variant, func.count()).where(ours).group_by(variant)
    )
    sent = _per_variant(
        session,
        select(variant, func.count())
        .select_from(AbRecipient)
        .join(
            Message,
            and_(
                col(Message.campaign_id) == campaign_id,
                col(Message.contact_id) == col(AbRecipient.contact_id),
            ),
        )
        .where(ours, col(Message.is_test).is_(False), col(Message.state).in_(HANDED_OVER))
        .group_by(variant),
    )
    theirs = and_(
        col(Link.campaign_id) == campaign_id,
        col(Link.contact_id) == col(AbRecipient.contact_id),
    )
    # People who clicked: in the raw log, or on a day folded out of it (their link's).
    clicked = union_all(
        select(variant.label("variant"), col(Click.contact_id).label("contact_id"))
        .select_from(AbRecipient)
        .join(Link, theirs)
        .join(Click, col(Click.link_id) == col(Link.id))
        .where(ours, col(Click.is_bot).is_(False)),
        select(variant, col(Link.contact_id))
        .select_from(AbRecipient)
        .join(Link, theirs)
        .join(ClickDay, col(ClickDay.link_id) == col(Link.id))
        .where(ours, col(ClickDay.human_clicks) > 0),
    ).subquery()
    clickers = _per_variant(
        session,
        select(clicked.c.variant, func.count(distinct(clicked.c.contact_id))).group_by(
            clicked.c.variant
        ),
    )
    coupon_rows = session.execute(
        select(variant, func.count(), func.count(col(Coupon.redeemed_at)))
        .select_from(AbRecipient)
        .join(
            Coupon,
            and_(
                col(Coupon.campaign_id) == campaign_id,
                col(Coupon.contact_id) == col(AbRecipient.contact_id),
            ),
        )
        .where(ours)
        .group_by(variant)
    ).all()
    coupons = {int(v): (int(i), int(r)) for v, i, r in coupon_rows if v is not None}
    figures = []
    for index in range(len(spec.variants)):
        issued, redeemed = coupons.get(index, (0, 0))
        shown = {
            "variant": index,
            "name": variant_name(index),
            "recipients": recipients.get(index, 0),
            "sent": sent.get(index, 0),
            "human_clickers": clickers.get(index, 0),
            "human_ctr": _rate(clickers.get(index, 0), sent.get(index, 0)),
            "coupons_issued": issued,
            "redemptions": redeemed,
            "redemption_rate": _rate(redeemed, issued),
        }
        figures.append(shown)
    return figures


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _successes(figures: dict[str, Any], metric: str) -> tuple[int, int]:
    if metric == "redemption_rate":
        return int(figures["redemptions"]), int(figures["coupons_issued"])
    return int(figures["human_clickers"]), int(figures["sent"])


def verdict(spec: AbTestSpec, figures: list[dict[str, Any]]) -> Verdict:
    """The best variant by the metric (the first one on a tie) against the next best."""

    def rate(index: int) -> float:
        successes, total = _successes(figures[index], spec.metric)
        return successes / total if total else 0.0

    ranked = sorted(range(len(figures)), key=lambda i: (-rate(i), i))
    best, runner_up = ranked[0], ranked[1]
    comparison = compare(
        *_successes(figures[best], spec.metric), *_successes(figures[runner_up], spec.metric)
    )
    if comparison.significant:
        return Verdict("winner", best, best, runner_up, comparison)
    if spec.if_no_winner == "fallback":
        return Verdict("fallback", spec.fallback, best, runner_up, comparison)
    return Verdict("waiting", None, best, runner_up, comparison)


def _record(
    outcome: AbOutcome,
    figures: list[dict[str, Any]],
    found: Verdict,
    *,
    decision: str,
    winner: int | None,
    now: datetime,
    by: int | None = None,
) -> None:
    outcome.decision = decision
    outcome.winner = winner
    outcome.p_value = found.comparison.p_value
    outcome.ci_low = found.comparison.low
    outcome.ci_high = found.comparison.high
    outcome.figures = figures
    outcome.decided_at = now
    outcome.decided_by = by


def _send_the_rest(campaign: Campaign, now: datetime) -> None:
    """The rest of the audience is planned next, from the start, with the winner."""
    states.move(
        campaign,
        states.PLANNING,
        now=now,
        plan_at=now,
        planning_cursor=0,
        claimed_by=None,
        claimed_until=None,
    )


def decide_due_tests(*, engine: Engine, clock: Clock) -> list[int]:
    """Every test whose time has come is decided (the chore loop): figures read first,
    then one short transaction per campaign. Returns the campaigns decided or now
    waiting for the marketer."""
    now = clock.now()
    with read_session(engine) as session:
        due = session.execute(
            select(col(Campaign.id), col(Campaign.ab_test))
            .join(AbOutcome, col(AbOutcome.campaign_id) == col(Campaign.id))
            .where(
                col(Campaign.status) == states.TESTING,
                col(AbOutcome.decision).is_(None),
                col(AbOutcome.decide_at) <= now,
            )
            .order_by(col(Campaign.id))
        ).all()
        measured = []
        for campaign_id, raw in due:
            spec = parse_ab_test(raw)
            figures = variant_figures(session=session, campaign_id=campaign_id, spec=spec)
            measured.append((int(campaign_id), figures, verdict(spec, figures)))
    decided = []
    for campaign_id, figures, found in measured:
        with session_scope(engine) as session:
            campaign = session.get(Campaign, campaign_id, with_for_update=True)
            outcome = session.get(AbOutcome, campaign_id, with_for_update=True)
            if campaign is None or outcome is None:
                continue
            if campaign.status != states.TESTING or outcome.decision is not None:
                continue  # cancelled, or decided by the marketer meanwhile
            _record(outcome, figures, found, decision=found.decision, winner=found.winner, now=now)
            if found.winner is not None:
                _send_the_rest(campaign, now)
            session.add_all([outcome, campaign])
        log.info("A/B test of campaign %s: %s %s", campaign_id, found.decision, found.winner)
        decided.append(campaign_id)
    return decided


def choose_variant(
    *, session: Session, clock: Clock, campaign_id: int, variant: int, chooser: int | None
) -> AbOutcome:
    """The marketer picks the variant the rest of the audience gets (the one use case of
    `POST /api/campaigns/{id}/ab_test/decision` and the results screen's buttons): while
    the campaign is testing, before its decision is due or while it waits. The figures
    are read first, then the campaign locked and checked again. Flushes."""
    spec = _testing(get_or_not_found(session, Campaign, campaign_id, f"no campaign {campaign_id}"))
    if not 0 <= variant < len(spec.variants):
        raise InvalidInput(f"variant must be from 0 to {len(spec.variants) - 1}")
    figures = variant_figures(session=session, campaign_id=campaign_id, spec=spec)
    found = verdict(spec, figures)
    campaign = session.get(Campaign, campaign_id, with_for_update=True, populate_existing=True)
    assert campaign is not None  # read above; campaigns are never deleted
    _testing(campaign)  # still: not cancelled, nor decided, meanwhile
    outcome = get_or_not_found(
        session, AbOutcome, campaign_id, f"no A/B test outcome for campaign {campaign_id}"
    )
    now = clock.now()
    _record(outcome, figures, found, decision="chosen", winner=variant, now=now, by=chooser)
    _send_the_rest(campaign, now)
    session.add_all([outcome, campaign])
    session.flush()
    return outcome


def _testing(campaign: Campaign) -> AbTestSpec:
    """The campaign's test while it runs; Conflict otherwise."""
    if campaign.ab_test is None:
        raise Conflict(f"campaign {campaign.id} has no A/B test")
    if campaign.status != states.TESTING:
        raise Conflict(
            "campaign {id} is {status}: a variant is chosen while its A/B test runs",
            params={"id": campaign.id, "status": campaign.status},
        )
    return parse_ab_test(campaign.ab_test)


def ab_test_report(*, session: Session, campaign: Campaign) -> dict[str, Any] | None:
    """The test as the stats API and the results screen show it: its settings, each
    variant's figures side by side (now), the best against the next best (difference,
    95% interval, p-value) and the decision once made (with the figures it was made on)."""
    if campaign.ab_test is None or campaign.id is None:
        return None
    spec = parse_ab_test(campaign.ab_test)
    figures = variant_figures(session=session, campaign_id=campaign.id, spec=spec)
    live = verdict(spec, figures)
    outcome = session.get(AbOutcome, campaign.id)
    decision: dict[str, Any] | None = None
    if outcome is not None and outcome.decision is not None:
        decision = {
            "decision": outcome.decision,
            "winner": outcome.winner,
            "winner_name": variant_name(outcome.winner) if outcome.winner is not None else None,
            "p_value": outcome.p_value,
            "interval": [outcome.ci_low, outcome.ci_high],
            "decided_at": outcome.decided_at.isoformat() if outcome.decided_at else None,
            "figures": outcome.figures,
        }
    return {
        "settings": spec.model_dump(mode="json"),
        "metric": spec.metric,
        "decide_at": outcome.decide_at.isoformat() if outcome is not None else None,
        "variants": figures,
        "comparison": {
            "best": live.best,
            "runner_up": live.runner_up,
            "difference": round(live.comparison.difference, 6),
            "interval": [round(live.comparison.low, 6), round(live.comparison.high, 6)],
            "p_value": round(live.comparison.p_value, 6),
            "significant": live.comparison.significant,
            "level": 0.95,
        },
        "waiting_for_choice": outcome is not None and outcome.decision == "waiting",
        "decision": decision,
    }
