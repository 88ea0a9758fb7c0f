"""`POST /p/{token}/events/{kind}/{block_id}`: what a recipient did on their page (a
scratch card revealed, a coupon copied, a button tapped), sent by the blocks' scripts with
`navigator.sendBeacon`.

The token is the page's unguessable address, so only whoever holds the recipient's link
can record for them; each event counts once per recipient, block and kind, so replaying
it changes nothing. Automated clients are ignored, like everywhere on pages.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.page_events import REPORTABLE, report_page_event
from richsms.errors import InvalidInput
from shortener.bots import is_bot
from web.context import context
from web.openapi import RouteTable

events = RouteTable(public=True, tags=("pages",))


@events.post(
    "/p/{token:str}/events/{kind:str}/{block_id:str}",
    f"Record what the recipient did on their page ({', '.join(REPORTABLE)}), once per "
    "block and kind, for the campaign or message whose link it is; automated clients are "
    "ignored. Answers 204.",
    status=204,
    errors=(404, 409, 422),
    patterns=(
        ("token", "^[A-Za-z0-9_-]{1,64}$"),
        ("kind", "^(" + "|".join(REPORTABLE) + ")$"),
        ("block_id", "^[A-Za-z0-9_-]{1,64}$"),
    ),
)
async def page_event(request: Request) -> Response:
    token = request.path_params["token"]
    kind = request.path_params["kind"]
    block_id = request.path_params["block_id"]
    if kind not in REPORTABLE:
        raise InvalidInput(f"kind must be one of {', '.join(REPORTABLE)}")
    if len(token) > 64 or len(block_id) > 64:
        raise InvalidInput("no such page or block")
    if is_bot("GET", request.headers.get("user-agent", "")):
        return Response(status_code=204)
    ctx = context(request)

    def work(session: Session) -> None:
        report_page_event(
            session=session, clock=ctx.clock, token=token, kind=kind, block_id=block_id
        )

    await ctx.in_session(work)
    return Response(status_code=204, headers={"cache-control": "no-store"})
