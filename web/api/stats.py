"""Results API: one campaign's figures, and campaigns side by side."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import StreamingResponse

from richsms.accounts.roles import Permission
from richsms.errors import InvalidInput
from richsms.types import storable_datetime
from sender.results.campaign_stats import compare_campaigns, parse_campaign_ids
from sender.results.growth import subscriber_growth
from sender.results.page_stats import page_report
from sender.results.report_cache import current_report
from web.context import AppContext
from web.exports import campaign_export
from web.openapi import RouteTable

api = RouteTable(tags=("results",))


@api.get(
    "/campaigns/{id}/stats",
    "Production, delivery, engagement, reading delay and clicks over time; "
    "`computed_at` says when (kept ready by the workers for campaigns still moving).",
    reads=True, needs=Permission.RESULTS,
)
def campaign(ctx: AppContext, session: Session, id: int) -> dict[str, Any]:
    return current_report(
        session=session,
        campaign_id=id,
        now=ctx.clock.now(),
        price_per_segment=ctx.settings.price_per_segment,
        currency=ctx.settings.currency,
        engine=ctx.engine,
    )


@api.get(
    "/pages/{id}/stats",
    "A page's visitors, events (scratch, wheel, copy) and redemptions, every link included.",
    reads=True, needs=Permission.RESULTS,
)
def page(session: Session, id: int) -> dict[str, Any]:
    return page_report(session=session, page_id=id)


@api.get(
    "/stats/compare",
    "The same figures side by side for ?campaigns=1,2,3 (at most 10).",
    errors=(404, 422),
    reads=True, needs=Permission.RESULTS,
)
def compare(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    ids = parse_campaign_ids(request.query_params.get("campaigns", ""))
    return compare_campaigns(
        session=session,
        campaign_ids=ids,
        price_per_segment=ctx.settings.price_per_segment,
        currency=ctx.settings.currency,
    )


def _export(kind: str, excel: bool = False) -> Callable[..., StreamingResponse]:
    def export(ctx: AppContext, id: int) -> StreamingResponse:
        return campaign_export(ctx, id, kind, excel)

    return export


def _moment(raw: str | None, default: datetime, name: str) -> datetime:
    if not raw:
        return default
    try:
        parsed = datetime.fromisoformat(raw if "T" in raw else raw + "T00:00:00+00:00")
        return storable_datetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    except ValueError as exc:
        message = f"{name}: give a date (2026-12-01) or a time with a zone: {exc}"
        raise InvalidInput(message) from None


@api.get(
    "/stats/growth",
    "Opt-ins, opt-outs and net subscribers per ?period=day|week|month, by channel.",
    errors=(422,),
    reads=True, needs=Permission.RESULTS,
)
def growth(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    query = request.query_params
    now = ctx.clock.now()
    end = _moment(query.get("to"), now, "to")
    start = _moment(query.get("from"), end - timedelta(days=30), "from")
    period = query.get("period", "day")
    return subscriber_growth(session=session, start=start, end=end, period=period)


api.get(
    "/campaigns/{id}/export/messages.csv",
    "The campaign's messages as CSV (state, times, clicks, coupon), streamed.",
    needs=Permission.RESULTS,
)(_export("messages"))

api.get(
    "/campaigns/{id}/export/clicks.csv",
    "Every click on the campaign's links as CSV, streamed.", needs=Permission.RESULTS,
)(_export("clicks"))


for kind, what in (("messages", "messages"), ("clicks", "clicks on its links")):
    api.get(
        f"/campaigns/{{id}}/export/excel-fr/{kind}.csv",
        f"The campaign's {what} as Excel (France) opens them: `;`, UTF-8 with a BOM, "
        "French column names, the contacts' names, times in the account's time zone.",
        needs=Permission.RESULTS,
    )(_export(kind, excel=True))
