"""Images API: upload a JPEG, PNG or WebP for pages (resized, metadata dropped)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from landing_templates.images import MAX_BYTES, prepare_image, store_image
from richsms import processes
from richsms.accounts.roles import Permission
from web.context import context
from web.errors import BadRequest
from web.openapi import RouteTable


class ImageOut(BaseModel):
    id: int
    width: int
    height: int
    widths: list[int] = Field(description="Widths served, at /img/{id}/{width}.webp.")
    urls: list[str]


api = RouteTable(tags=("pages",))


@api.post(
    "/images",
    "Upload an image (the raw JPEG, PNG or WebP bytes as the body); answers 201.",
    response=ImageOut,
    status=201,
    body="application/octet-stream", needs=Permission.BUILD,
)
async def upload(request: Request) -> JSONResponse:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise BadRequest(413, f"an image is at most {MAX_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise BadRequest(413, f"an image is at most {MAX_BYTES} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    ctx = context(request)

    def work(session: Session) -> ImageOut:
        # resized in a worker process, before the transaction writes
        prepared = processes.run(processes.IMAGES, prepare_image, data)
        image = store_image(session=session, clock=ctx.clock, image=prepared)
        return ImageOut(
            id=image.id,
            width=image.width,
            height=image.height,
            widths=list(image.widths),
            urls=[f"/img/{image.id}/{w}.webp" for w in image.widths],
        )

    out = await ctx.in_session(work)
    return JSONResponse(out.model_dump(), status_code=201)
