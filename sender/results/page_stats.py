"""A landing page's results across every link and campaign that led to it: people who
opened it, what they did there, the coupons its blocks gave and how many were used."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from landing_templates.models import Page
from richsms.db import get_or_not_found
from sender.results.campaign_stats import page_event_counts, page_event_rates
from shortener.click_days import click_figures
from shortener.models import Link


def page_report(*, session: Session, page_id: int) -> dict[str, Any]:
    page = get_or_not_found(session, Page, page_id, f"no page {page_id}")
    clicks = click_figures(session, col(Link.page_id) == page_id, col(Link.is_test).is_(False))
    events = page_event_counts(session, page_id=page_id)
    issued, redeemed = session.execute(
        select(func.count(), func.count(col(Coupon.redeemed_at))).where(
            col(Coupon.page_id) == page_id, col(Coupon.contact_id).is_not(None)
        )
    ).one()
    return {
        "page_id": page_id,
        "name": page.name,
        "clicks": clicks.total,
        "human_clicks": clicks.human,
        "unique_visitors": clicks.people,
        "page_events": events,
        "page_event_rates": page_event_rates(events, clicks.people),
        "coupons_issued": int(issued),
        "redemptions": int(redeemed),
        "redemption_rate": None if not issued else round(int(redeemed) / int(issued), 4),
    }
