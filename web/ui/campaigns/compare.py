"""Campaigns side by side: pick some, read the same figures in one table."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.i18n import N_
from sender.campaigns.campaign import list_campaigns
from sender.results.campaign_stats import MAX_COMPARED, compare_campaigns
from web.context import context
from web.ui.render import Viewer, page

# (label, section, key, kind) of each row of the table; the template translates the label.
ROWS = (
    (N_("Sent"), "delivery", "sent", "number"),
    (N_("Delivered"), "delivery", "delivered", "number"),
    (N_("Failed"), "delivery", "failed", "number"),
    (N_("Cost"), "delivery", "cost", "money"),
    (N_("Clicks"), "engagement", "human_clicks", "number"),
    (N_("Unique clicks"), "engagement", "unique_clicks", "number"),
    (N_("Click-through rate"), "engagement", "click_through_rate", "percent"),
    (N_("Redemptions"), "engagement", "redemptions", "number"),
    (N_("Redemption rate"), "engagement", "redemption_rate", "percent"),
    (N_("Replies"), "engagement", "replies", "number"),
    (N_("Opt-outs"), "engagement", "opt_outs", "number"),
    (N_("Opt-out rate"), "engagement", "opt_out_rate", "percent"),
    (N_("Median reading delay"), "reading_delay", "median_seconds", "seconds"),
    (N_("Read within 3 minutes"), "reading_delay", "within_3_minutes", "percent"),
)


def compare(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    campaigns = [c for c in list_campaigns(session=db) if c.status in ("sending", "done")]
    chosen: list[int] = []
    for raw in request.query_params.getlist("campaigns")[:MAX_COMPARED]:
        if raw.isascii() and raw.isdigit() and len(raw) < 10:
            chosen.append(int(raw))
    known = {c.id for c in campaigns}
    chosen = [c for c in dict.fromkeys(chosen) if c in known]
    if not chosen:
        chosen = [c.id for c in campaigns[:3] if c.id is not None]
    settings = context(request).settings
    reports = (
        compare_campaigns(
            session=db,
            campaign_ids=chosen,
            price_per_segment=settings.price_per_segment,
            currency=settings.currency,
        )["campaigns"]
        if chosen
        else []
    )
    return page(
        view, "compare.html", campaigns=campaigns, chosen=chosen, reports=reports, rows=ROWS
    )
