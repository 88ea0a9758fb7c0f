"""A campaign's results: production, delivery, engagement, in one answer.

Figures come from indexed aggregates over the tables that are the record (the outbox,
the clicks of the campaign's links and the days folded out of them once the retention
allowed no more, coupons, inbound messages), not from counters kept beside them: a
counter must be updated on the click's hot path or drifts from the record after a
crash, an erasure or a late receipt, while an aggregate over the right index costs a
few hundred milliseconds at a million messages (bench/stats.py).

Rates say what they divide by. The click-through rate is unique human clickers over
delivered messages when the operator sends receipts, else over sent ones (`ctr_basis`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, select, union_all
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from landing_templates.page_event_folds import PageEventFold
from landing_templates.page_events import EVENT_KINDS, PageEvent
from richsms.db import get_or_not_found
from richsms.errors import InvalidInput
from sender.campaigns.ab.decision import ab_test_report
from sender.campaigns.models import Campaign
from sender.delivery.frequency_caps import REASON as CAP_REASON
from sender.delivery.inbound import OPT_OUT_WORDS
from sender.delivery.models import (
    CANCELLED,
    DELIVERED,
    ERROR,
    EXPIRED,
    FAILED,
    PLANNED,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    UNDELIVERED,
    UNKNOWN,
    InboundMessage,
    Message,
)
from sender.results.breakdown import campaign_breakdown
from sender.results.choice_results import choice_results
from sender.results.reading_delay import clicks_over_time, reading_delay
from shortener.click_days import click_figures
from shortener.models import Link

TOP_REASONS = 10
HANDED_OVER = (SENT, DELIVERED, UNDELIVERED, UNKNOWN)  # left for the network (or may have)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _by_state(session: Session, campaign_id: int) -> tuple[dict[str, int], int]:
    rows = session.execute(
        select(col(Message.state), func.count(), func.coalesce(func.sum(col(Message.segments)), 0))
        .where(col(Message.campaign_id) == campaign_id, col(Message.is_test).is_(False))
        .group_by(col(Message.state))
    ).all()
    counts = {str(state): int(n) for state, n, _ in rows}
    segments = sum(int(s) for state, _, s in rows if state in HANDED_OVER)
    return counts, segments


def _reasons(session: Session, campaign_id: int, states: Sequence[str]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(col(Message.error), func.count().label("n"))
        .where(
            col(Message.campaign_id) == campaign_id,
            col(Message.is_test).is_(False),
            col(Message.state).in_(states),
        )
        .group_by(col(Message.error))
        .order_by(func.count().desc())
        .limit(TOP_REASONS)
    ).all()
    return [{"reason": error or "no reason given", "count": int(n)} for error, n in rows]


def _capped_at_claim(session: Session, campaign_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                col(Message.campaign_id) == campaign_id,
                col(Message.is_test).is_(False),
                col(Message.state) == SKIPPED,
                col(Message.error) == CAP_REASON,
            )
        ).scalar_one()
    )


def _clicks(session: Session, campaign_id: int) -> dict[str, int]:
    figures = click_figures(session, col(Link.campaign_id) == campaign_id)
    return {
        "total": figures.total,
        "human": figures.human,
        "bot": figures.bot,
        # People: the contact behind a personal link, counted once however often.
        "unique": max(figures.people, 0) or figures.links,
    }


def _redemptions(session: Session, campaign_id: int) -> tuple[int, int]:
    issued, redeemed = session.execute(
        select(func.count(), func.count(col(Coupon.redeemed_at))).where(
            col(Coupon.campaign_id) == campaign_id, col(Coupon.contact_id).is_not(None)
        )
    ).one()
    return int(issued), int(redeemed)


def _replies(session: Session, campaign_id: int) -> tuple[int, int]:
    stop = col(InboundMessage.keyword).in_(sorted(OPT_OUT_WORDS))
    replies, opt_outs = session.execute(
        select(
            func.count(),
            func.count(distinct(case((stop, col(InboundMessage.contact_id))))),
        ).where(col(InboundMessage.campaign_id) == campaign_id)
    ).one()
    return int(replies), int(opt_outs)


def page_event_counts(
    session: Session, *, campaign_id: int | None = None, page_id: int | None = None
) -> dict[str, int]:
    """People who did each kind of page event (once each, however many blocks), among a
    campaign's or a page's events, raw or folded (sender/results/retention.py)."""
    raw: list[Any] = []
    folded: list[Any] = []
    if campaign_id is not None:
        raw.append(col(PageEvent.campaign_id) == campaign_id)
        folded.append(col(PageEventFold.campaign_id) == campaign_id)
    if page_id is not None:
        raw.append(col(PageEvent.page_id) == page_id)
        folded.append(col(PageEventFold.page_id) == page_id)
    events = union_all(
        select(
            col(PageEvent.kind).label("kind"), col(PageEvent.contact_id).label("contact_id")
        ).where(*raw),
        select(col(PageEventFold.kind), col(PageEventFold.contact_id)).where(*folded),
    ).subquery()
    rows = session.execute(
        select(events.c.kind, func.count(distinct(events.c.contact_id))).group_by(events.c.kind)
    ).all()
    found = {str(kind): int(n) for kind, n in rows}
    return {kind: found.get(kind, 0) for kind in EVENT_KINDS}


def page_event_rates(counts: dict[str, int], visitors: int) -> dict[str, float | None]:
    """Each kind's people over the people who opened the page (unique human clickers)."""
    return {kind: _rate(n, visitors) for kind, n in counts.items()}


def campaign_report(
    *, session: Session, campaign_id: int, price_per_segment: Decimal, currency: str
) -> dict[str, Any]:
    """Every figure of one campaign (test sends left out)."""
    campaign = get_or_not_found(session, Campaign, campaign_id, f"no campaign {campaign_id}")
    by_state, segments = _by_state(session, campaign_id)
    n = by_state.get
    produced = sum(v for k, v in by_state.items() if k != ERROR)
    sent = sum(n(s, 0) for s in (SENT, DELIVERED, UNDELIVERED))
    delivered = n(DELIVERED, 0)
    with_receipt = delivered + n(UNDELIVERED, 0)
    clicks = _clicks(session, campaign_id)
    issued, redeemed = _redemptions(session, campaign_id)
    replies, opt_outs = _replies(session, campaign_id)
    basis = "delivered" if with_receipt else "sent"
    reached = delivered if with_receipt else sent
    page_events = page_event_counts(session, campaign_id=campaign_id)
    return {
        "campaign_id": campaign_id,
        "name": campaign.name,
        "status": campaign.status,
        "states": by_state,
        "production": {
            "planned": produced,
            "produced": produced,  # the name of the first version of this answer
            "errors": n(ERROR, 0),
            "error_reasons": _reasons(session, campaign_id, (ERROR,)),
            "excluded": campaign.excluded_count,
            # Left out at planning by reason, other than consent ("no sender number for BE").
            "excluded_reasons": [
                {"reason": reason, "count": count}
                for reason, count in sorted((campaign.exclusions or {}).items())
            ],
            "skipped": n(SKIPPED, 0),
            # Left out by the frequency cap: when planned (among the excluded), and when a
            # worker counted again at the moment of sending (among the skipped).
            "frequency_capped": (campaign.exclusions or {}).get(CAP_REASON, 0)
            + _capped_at_claim(session, campaign_id),
            "cancelled": n(CANCELLED, 0),
            "remaining": n(PLANNED, 0) + n(QUEUED, 0) + n(SENDING, 0),
        },
        "delivery": {
            "sent": sent,
            "delivered": delivered,
            "undelivered": n(UNDELIVERED, 0),
            "failed": n(FAILED, 0),
            "failure_reasons": _reasons(session, campaign_id, (FAILED, UNDELIVERED)),
            "expired": n(EXPIRED, 0),
            "unknown": n(UNKNOWN, 0),
            "with_receipt": with_receipt,
            "without_receipt": n(SENT, 0),
            "segments": segments,
            "segments_sent": segments,  # the name of the first version of this answer
            "cost": str((price_per_segment * segments).quantize(Decimal("0.01"))),
            "currency": currency,
        },
        "engagement": {
            "clicks": clicks["total"],
            "human_clicks": clicks["human"],
            "bot_clicks": clicks["bot"],
            "unique_clicks": clicks["unique"],
            "click_through_rate": _rate(clicks["unique"], reached),
            "ctr_basis": basis,
            "page_events": page_events,
            "page_event_rates": page_event_rates(page_events, clicks["unique"]),
            "coupons_issued": issued,
            "redemptions": redeemed,
            "redemption_rate": _rate(redeemed, issued),
            "replies": replies,
            "opt_outs": opt_outs,
            "opt_out_rate": _rate(opt_outs, reached),
        },
        # Reply choices counted (null when the campaign offered none).
        "reply_choices": choice_results(session=session, campaign=campaign),
        **campaign_breakdown(session=session, campaign_id=campaign_id),
        "ab_test": ab_test_report(session=session, campaign=campaign),
        "reading_delay": reading_delay(session=session, campaign_id=campaign_id),
        "clicks_over_time": clicks_over_time(session=session, campaign_id=campaign_id),
    }


MAX_COMPARED = 10


def parse_campaign_ids(raw: str) -> list[int]:
    """`1,2,3` → [1, 2, 3]: at least one, at most MAX_COMPARED, each an id."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise InvalidInput("give campaigns=1,2,3")
    if len(parts) > MAX_COMPARED:
        raise InvalidInput(f"compare at most {MAX_COMPARED} campaigns at once")
    ids = []
    for part in parts:
        if not (part.isascii() and part.isdigit() and len(part) <= 10):
            raise InvalidInput(f"not a campaign id: {part[:20]!r}")
        ids.append(int(part))
    return list(dict.fromkeys(ids))


def compare_campaigns(
    *, session: Session, campaign_ids: Sequence[int], price_per_segment: Decimal, currency: str
) -> dict[str, Any]:
    """The same figures side by side; the time series are left out (one chart each)."""
    reports = []
    for campaign_id in campaign_ids:
        report = campaign_report(
            session=session,
            campaign_id=campaign_id,
            price_per_segment=price_per_segment,
            currency=currency,
        )
        report.pop("clicks_over_time")
        reports.append(report)
    return {"campaigns": reports}

