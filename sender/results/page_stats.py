"""A landing page's results across every link and campaign that led to it: people who
opened it, what they did there, the coupons its blocks gave and how many were used."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, distinct, func, select
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from landing_templates.models import Page
from landing_templates.page_events import PageEvent
from richsms.db import get_or_not_found
from sender.results.campaign_stats import page_event_counts, page_event_rates
from shortener.models import Click, Link


def page_report(*, session: Session, page_id: int) -> dict[str, Any]:
    page = get_or_not_found(session, Page, page_id, f"no page {page_id}")
    human = case((col(Click.is_bot).is_(False), 1), else_=0)
    total, humans, visitors = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(human), 0).cast(Integer),
            func.count(distinct(case((col(Click.is_bot).is_(False), col(Click.contact_id))))),
        )
        .select_from(Link)
        .join(Click, col(Click.link_id) == col(Link.id))
        .where(col(Link.page_id) == page_id, col(Link.is_test).is_(False))
    ).one()
    events = page_event_counts(session, col(PageEvent.page_id) == page_id)
    issued, redeemed = session.execute(
        select(func.count(), func.count(col(Coupon.redeemed_at))).where(
            col(Coupon.page_id) == page_id, col(Coupon.contact_id).is_not(None)
        )
    ).one()
    return {
        "page_id": page_id,
        "name": page.name,
        "clicks": int(total),
        "human_clicks": int(humans),
        "unique_visitors": int(visitors),
        "page_events": events,
        "page_event_rates": page_event_rates(events, int(visitors)),
        "coupons_issued": int(issued),
        "redemptions": int(redeemed),
        "redemption_rate": None if not issued else round(int(redeemed) / int(issued), 4),
    }
