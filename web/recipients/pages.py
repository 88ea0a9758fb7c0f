"""Recipients' pages: a page link's tap (one round trip from `GET /{code}`), the stable
address `/p/{token}`, the wheel's spin, uploaded images and the blocks' static files.

Link-preview fetchers and scanners get the page's Open Graph card and nothing personal;
they assign no coupon and draw no prize. What a view reads and renders is
`landing_templates.viewer`'s; this module answers HTTP with it.
"""

from __future__ import annotations

import asyncio
import functools

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from landing_templates.models import PageImageRendition
from landing_templates.viewer import Rendered
from richsms.assets import STATIC
from richsms.errors import Forbidden, NotFound
from shortener.bots import is_bot
from web.context import context
from web.openapi import RouteTable
from web.recipients.page_server import encoded

# A page's token and a block's id: what the site's own links carry (the fuzzer keeps to it).
_TOKEN = ("token", "^[A-Za-z0-9_-]{1,64}$")
_BLOCK = ("block_id", "^[A-Za-z0-9_-]{1,64}$")
pages = RouteTable(public=True, tags=("pages",))


class SpinOut(BaseModel):
    prize_index: int
    label: str
    coupon: str | None = Field(description="The coupon won, if the prize carries one.")
    angle: float = Field(description="The wheel's final rotation, in degrees.")
    html: str = Field(description="The result, as the page shows it.")


def _response(request: Request, rendered: Rendered) -> Response:
    body, headers = encoded(rendered, request.headers.get("accept-encoding", ""))
    response = Response(body, status_code=rendered.status)
    response.raw_headers = headers
    return response


@pages.get(
    "/p/{token:str}",
    "A recipient's page at its stable address (what their short link answers with).",
    response_media="text/html",
    error_media="text/html",
    errors=(404, 410),
    patterns=(_TOKEN,),
)
async def page_by_token(request: Request) -> Response:
    token: str = request.path_params["token"]
    bot = is_bot(request.method, request.headers.get("user-agent", ""))
    viewer = context(request).pages
    work = functools.partial(viewer.by_token, token, bot=bot)
    rendered = await asyncio.get_running_loop().run_in_executor(viewer.renders, work)
    return _response(request, rendered)


@pages.post(
    "/p/{token:str}/spin/{block_id:str}",
    "Spin the page's wheel: the outcome is drawn once per recipient, the same on reload.",
    response=SpinOut,
    errors=(403, 404, 409, 422),
    patterns=(_TOKEN, _BLOCK),
)
async def spin(request: Request) -> JSONResponse:
    if is_bot("GET", request.headers.get("user-agent", "")):
        raise Forbidden("automated clients cannot spin the wheel")
    token, block_id = request.path_params["token"], request.path_params["block_id"]
    result = await run_in_threadpool(context(request).pages.spin, token, block_id)
    return JSONResponse(result, headers={"cache-control": "private, no-store"})


@pages.get(
    "/img/{image_id:int}/{width:int}.webp",
    "An uploaded image at one of its widths, as WebP (cached for a year).",
    response_media="image/webp",
    errors=(404,),
    examples=(("width", "720"),),
)
async def image(request: Request) -> Response:
    image_id, width = int(request.path_params["image_id"]), int(request.path_params["width"])

    def work(session: Session) -> bytes | None:
        data: bytes | None = session.exec(
            select(PageImageRendition.data).where(
                col(PageImageRendition.image_id) == image_id,
                col(PageImageRendition.width) == width,
            )
        ).first()
        return data

    data = await context(request).in_read_session(work)
    if data is None:
        raise NotFound("no such image")
    # An image id and width never change content: cache it for a year, everywhere.
    return Response(
        data,
        media_type="image/webp",
        headers={
            "cache-control": "public, max-age=31536000, immutable",
            "x-content-type-options": "nosniff",
        },
    )


pages.mount(
    "/static",
    StaticFiles(directory=STATIC, check_dir=False),
    "The blocks' and the UI's static files (CSS, scripts, vendored libraries).",
    name="static",
    response_media="*/*",
    errors=(404,),
    patterns=(("path", "^[a-z]+/[A-Za-z0-9_./-]{1,100}$"),),
    examples=(("path", "blocks/page.css"),),
)
