"""`POST /p/{token}/events/{kind}/{block_id}`: what a recipient did on their page (a
scratch card revealed, a coupon copied), sent by the blocks' scripts.

The token is the page's unguessable address, so only whoever holds the recipient's link
can record for them; each event counts once per recipient, block and kind, so replaying
it changes nothing. Automated clients are ignored, like everywhere on pages.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.links import link_by_token
from landing_templates.page_events import EVENT_KINDS, record_page_event
from landing_templates.pages import get_version
from richsms.errors import Conflict, InvalidInput, NotFound
from shortener.bots import is_bot
from web.context import context
from web.openapi import RouteTable

# Events a page's script may report (the wheel's spin is recorded by the spin itself),
# each on the blocks that can do it: a block id the page does not have records nothing.
BLOCK_TYPES = {"scratch_revealed": ("scratch",), "coupon_copied": ("coupon", "scratch", "wheel")}
REPORTABLE = tuple(kind for kind in EVENT_KINDS if kind in BLOCK_TYPES)
events = RouteTable(public=True, tags=("pages",))


@events.post(
    "/p/{token:str}/events/{kind:str}/{block_id:str}",
    f"Record what the recipient did on their page ({', '.join(REPORTABLE)}), once per "
    "block and kind; automated clients are ignored. Answers 204.",
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
        link = link_by_token(session=session, token=token)
        if link.gone(ctx.clock.now()):  # as its page and its wheel: nothing more
            raise Conflict("this link has expired")
        if link.page_id is None or link.contact_id is None:
            raise Conflict("this page is not personal: nothing is recorded")
        version = get_version(
            session=session, page_id=link.page_id, version=link.page_version or 1
        )
        types = {str(b.get("id")): b.get("type") for b in version.blocks}
        if types.get(block_id) not in BLOCK_TYPES[kind]:
            raise NotFound(f"no {' or '.join(BLOCK_TYPES[kind])} block {block_id!r} here")
        record_page_event(
            session=session,
            clock=ctx.clock,
            page_id=link.page_id,
            block_id=block_id,
            contact_id=link.contact_id,
            kind=kind,
            campaign_id=link.campaign_id,
        )

    await ctx.in_session(work)
    return Response(status_code=204, headers={"cache-control": "no-store"})

