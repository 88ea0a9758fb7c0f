"""The campaigns screens: lists by status with live progress, one campaign's results
with its charts, and its actions (approve, send, cancel, test)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response

import web.ui.campaigns.ab_test as ab_test
from richsms import i18n
from richsms.errors import InvalidInput
from richsms.i18n import N_
from sender.campaigns.campaign import approve_campaign, get_campaign, list_campaigns
from sender.campaigns.models import Campaign
from sender.campaigns.send_summary import waiting_messages
from sender.campaigns.unitary import CampaignTestSend, send_unitary
from sender.results.growth import subscriber_growth
from sender.results.reading_delay import BUCKETS
from sender.results.report_cache import current_report
from shortener.models import Click, Link
from web.bodies import path_id
from web.charts import Series, bar_chart, line_chart
from web.context import context
from web.exports import campaign_export
from web.ui.base import back_to
from web.ui.campaigns.preview import recipient_preview
from web.ui.campaigns.send import local_time, reason_label
from web.ui.render import Viewer, page, svg

# Dashboard sections, in the order a marketer looks for them.
SECTIONS = (
    (N_("Awaiting approval"), ("awaiting_approval",)),
    (N_("Sending"), ("planning", "testing", "sending")),
    (N_("Scheduled"), ("approved", "scheduled")),
    (N_("Drafts"), ("draft",)),
    (N_("Done"), ("done",)),
    (N_("Other"), ("cancelled", "failed")),
)

LATEST = 3  # campaigns whose figures lead the dashboard

# The page events a campaign's results show, by kind (`landing_templates.page_events`).
PAGE_EVENT_LABELS = (
    ("scratch_revealed", N_("Cards scratched")),
    ("wheel_spun", N_("Wheels spun")),
    ("coupon_copied", N_("Codes copied")),
    ("button_tapped", N_("Buttons tapped")),
)


def dashboard(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    campaigns = list_campaigns(session=db)
    groups: list[tuple[str, list[Campaign]]] = []
    for title, statuses in SECTIONS:
        found = [c for c in campaigns if c.status in statuses]
        if found:
            groups.append((title, found))
    now = context(request).clock.now()
    latest = [c for c in campaigns if c.status in ("sending", "done")][:LATEST]
    figures = [(c, _report(request, db, c.id or 0)) for c in latest]
    clicks = _human_clicks(db, [c.id for c in campaigns if c.status in ("sending", "done")])
    growth = subscriber_growth(session=db, start=now - timedelta(days=30), end=now)
    labels = [i18n.day(day["from"], view.language) for day in growth["series"]]
    chart = line_chart(
        labels,
        [
            Series(view.gettext("Opt-ins"), [d["opt_ins"] for d in growth["series"]]),
            Series(view.gettext("Opt-outs"), [d["opt_outs"] for d in growth["series"]]),
            Series(view.gettext("Net"), [d["net"] for d in growth["series"]]),
        ],
        title=view.gettext("Growth over 30 days"),
        language=view.language,
    )
    return page(
        view,
        "dashboard.html",
        live=any(c.status in ("planning", "testing", "sending", "scheduled") for c in campaigns),
        groups=groups,
        figures=figures,
        clicks=clicks,
        growth_chart=svg(chart),
        notice=request.query_params.get("notice", ""),
    )


def _human_clicks(db: Session, campaign_ids: list[int | None]) -> dict[int, int]:
    """Each campaign's clicks by people (link previews and bots left out)."""
    if not campaign_ids:
        return {}
    rows = db.execute(
        select(col(Link.campaign_id), func.count())
        .select_from(Click)
        .join(Link, col(Link.id) == col(Click.link_id))
        .where(col(Link.campaign_id).in_(campaign_ids), col(Click.is_bot).is_(False))
        .group_by(col(Link.campaign_id))
    ).all()
    return {int(campaign): int(count) for campaign, count in rows}


def _report(request: Request, db: Session, campaign_id: int) -> dict[str, Any]:
    settings = context(request).settings
    return current_report(
        session=db,
        campaign_id=campaign_id,
        now=context(request).clock.now(),
        price_per_segment=settings.price_per_segment,
        currency=settings.currency,
        engine=context(request).engine,
    )


def campaign_page(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    campaign = get_campaign(session=db, campaign_id=campaign_id)
    report = _report(request, db, campaign_id)
    histogram = report["reading_delay"]["histogram"]
    delay = bar_chart(
        [b["bucket"] for b in histogram],
        [b["count"] for b in histogram],
        title=view.gettext("Reading delay"),
        empty_text=view.gettext("No clicks yet"),
        language=view.language,
    )
    minutes = report["clicks_over_time"]["per_minute"]
    clicks = bar_chart(
        [f"{m} min" for m in range(len(minutes))],
        minutes,
        title=view.gettext("Clicks per minute, first hour"),
        empty_text=view.gettext("No clicks yet"),
        language=view.language,
    )
    return page(
        view,
        "campaign.html",
        campaign=campaign,
        report=report,
        delay_chart=svg(delay),
        clicks_chart=svg(clicks),
        buckets=BUCKETS,
        page_event_labels=PAGE_EVENT_LABELS,
        preview=recipient_preview(
            request, db, campaign, view.gettext, lambda code: reason_label(code, view.gettext)
        ),
        reasons=lambda code: reason_label(code, view.gettext),
        waiting=waiting_messages(
            session=db, campaign_id=campaign_id, now=context(request).clock.now()
        ),
        local=lambda d: local_time(d, view.language),
        instant=lambda text: datetime.fromisoformat(text) if text else None,
        notice=request.query_params.get("notice", ""),
        ab_summary=ab_test.summary(db, campaign, view.language),
    )


def approve(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    approve_campaign(
        session=db, clock=context(request).clock, campaign_id=campaign_id, approver=view.actor
    )
    return back_to(f"/ui/campaigns/{campaign_id}", N_("Approved."))


def test(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    phone = form.get("phone", "").strip()
    if not phone:
        raise InvalidInput("give the phone number to send the test to")
    chosen = form.get("contact_id", "").strip()
    if chosen and not chosen.isdigit():
        raise InvalidInput("choose a contact from the list")
    variant = form.get("variant", "").strip()
    if variant and not (variant.isascii() and variant.isdigit() and len(variant) == 1):
        raise InvalidInput("choose a variant")
    test = CampaignTestSend(
        campaign_id, phone, int(chosen) if chosen else None, int(variant) if variant else None
    )
    ctx = context(request)
    # one session for both: the page's own, which already holds the write lock
    send_unitary(db, db, test, clock=ctx.clock, settings=ctx.settings, codes=ctx.codes)
    return back_to(f"/ui/campaigns/{campaign_id}", N_("Test message queued."))


def _export(kind: str, excel: bool = False) -> Any:
    """A campaign's messages or clicks as plain CSV, or as Excel (France) reads them."""

    def export(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
        return campaign_export(context(request), path_id(request, "campaign"), kind, excel)

    return export


export_messages = _export("messages")
export_clicks = _export("clicks")
export_messages_excel = _export("messages", excel=True)
export_clicks_excel = _export("clicks", excel=True)
