"""`GET /metrics`: Prometheus's text format, this process's counters then the
installation's figures read from the database (`sender.results.operations`).

Who may read it: a scraper on the machine or the operator's network
(`RICHSMS_METRICS_NETWORKS`, asked directly: a request relayed by a proxy carries
`Forwarded` or `X-Forwarded-For` and is never taken for local), or anyone holding an
administrator's API token. To everyone else it does not exist (404), like any unknown path.
"""

from __future__ import annotations

import ipaddress

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from richsms.accounts.roles import Role
from richsms.metrics import CONTENT_TYPE, exposition
from richsms.settings import parse_networks
from sender.results.operations import DatabaseFigures
from web.context import AppContext, context
from web.errors import error_response
from web.openapi import RouteTable

metrics = RouteTable(public=True)


@metrics.get(
    "/metrics",
    "Prometheus metrics: redirects and their latency, clicks waiting to be written, "
    "messages by state, answers and receipts per provider, receipt lag, planning "
    "progress, webhooks waiting. Local scrapers or an administrator's token.",
    errors=(404,),
    response_media="text/plain",
    tags=("operations",),
)
async def metrics_endpoint(request: Request) -> Response:
    ctx = context(request)
    if not await _allowed(request, ctx):
        return error_response(404, "not_found", "Not Found")
    figures = DatabaseFigures(ctx.engine, ctx.clock)
    body = await run_in_threadpool(exposition, figures)
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


async def _allowed(request: Request, ctx: AppContext) -> bool:
    relayed = "forwarded" in request.headers or "x-forwarded-for" in request.headers
    peer = request.client.host if request.client else ""
    if not relayed and _within(peer, ctx):
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    found = await ctx.tokens(token.strip())
    return found is not None and found.role == Role.ADMIN


def _within(peer: str, ctx: AppContext) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in parse_networks(ctx.settings.metrics_networks))
