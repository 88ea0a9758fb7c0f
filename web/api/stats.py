"""Results API: one campaign's figures, and campaigns side by side."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from richsms.db import read_session
from sender.campaign_stats import campaign_report, compare_campaigns, parse_campaign_ids
from web.bodies import path_id
from web.openapi import Operation


async def campaign(request: Request) -> JSONResponse:
    campaign_id = path_id(request, "campaign")
    state = request.app.state

    def work() -> dict[str, Any]:
        with read_session(state.engine) as session:
            return campaign_report(
                session=session,
                campaign_id=campaign_id,
                price_per_segment=state.settings.price_per_segment,
                currency=state.settings.currency,
            )

    return JSONResponse(await run_in_threadpool(work))


async def compare(request: Request) -> JSONResponse:
    ids = parse_campaign_ids(request.query_params.get("campaigns", ""))
    state = request.app.state

    def work() -> dict[str, Any]:
        with read_session(state.engine) as session:
            return compare_campaigns(
                session=session,
                campaign_ids=ids,
                price_per_segment=state.settings.price_per_segment,
                currency=state.settings.currency,
            )

    return JSONResponse(await run_in_threadpool(work))


ROUTES = [
    Route("/campaigns/{id}/stats", campaign, methods=["GET"]),
    Route("/stats/compare", compare, methods=["GET"]),
]
_T = ("results",)
OPERATIONS = [
    Operation(
        "GET",
        "/api/campaigns/{id}/stats",
        "Production, delivery, engagement, reading delay and clicks over time.",
        errors=(401, 404, 422),
        tags=_T,
    ),
    Operation(
        "GET",
        "/api/stats/compare",
        "The same figures side by side for ?campaigns=1,2,3 (at most 10).",
        errors=(401, 404, 422),
        tags=_T,
    ),
]
