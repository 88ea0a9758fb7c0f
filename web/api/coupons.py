"""Coupons API: import a pool of codes, redeem a coupon exactly once, read its state."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from landing_templates.coupons import (
    CouponState,
    coupon_state,
    get_pool,
    import_pool,
    pool_counts,
    redeem_coupon,
)
from web.bodies import path_id, read_body, read_model
from web.context import AppContext, context
from web.errors import BadRequest
from web.openapi import RouteTable

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


class RejectedRow(BaseModel):
    row: int = Field(description="Line in the file (a header is line 1).")
    reason: str


class PoolOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    imported: int = Field(description="Codes added to the pool.")
    rows: int = Field(description="Data rows read (blank lines not counted).")
    rejected: list[RejectedRow] = Field(
        description="Rows not imported: not a valid code, a duplicate of an earlier row, or "
        "a code that already exists."
    )
    size: int
    available: int = Field(description="Codes no recipient has drawn yet.")


class PoolCountsOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    size: int = Field(description="Codes imported.")
    assigned: int = Field(description="Codes drawn by a recipient.")
    redeemed: int
    available: int = Field(description="Codes no recipient has drawn yet.")


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(None, max_length=200, description="Who redeems it (staff, till).")
    location: str | None = Field(None, max_length=200, description="Where (store, web shop).")


# A coupon as `coupon_state` reads it (CouponState), every field required.
_COUPON_FIELDS: dict[str, Any] = {
    name: (hint, Field(description="`valid` or `redeemed`.") if name == "state" else ...)
    for name, hint in get_type_hints(CouponState).items()
}
CouponOut = create_model("CouponOut", **_COUPON_FIELDS)


def _public(state: CouponState) -> dict[str, Any]:
    return CouponOut.model_validate(state, from_attributes=True).model_dump(mode="json")


api = RouteTable(tags=("coupons",))


@api.post(
    "/coupon-pools",
    "Import a pool of coupon codes from a CSV body (`?name=`); answers 201.",
    response=PoolOut,
    errors=(400, 401, 409, 413, 415, 422),
    status=201,
    body="text/csv",
)
async def create_pool(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise BadRequest(415, "send the codes as text/csv: one per line, or a `code` column")
    data = await read_body(request)
    ctx = context(request)
    name = request.query_params.get("name") or f"Pool {ctx.clock.now():%Y-%m-%d %H:%M}"

    def work(session: Session) -> dict[str, Any]:
        pool, report = import_pool(
            session=session, clock=ctx.clock, name=name, csv_bytes=data
        )
        assert pool.id is not None
        counts = pool_counts(session=session, pool_id=pool.id)
        return PoolOut(
            id=pool.id,
            name=pool.name,
            created_at=pool.created_at,
            imported=report.imported,
            rows=report.rows,
            rejected=[RejectedRow(row=row, reason=reason) for row, reason in report.rejected],
            size=counts.size,
            available=counts.available,
        ).model_dump(mode="json")

    return JSONResponse(await ctx.in_session(work), status_code=201)


@api.get(
    "/coupon-pools/{id}",
    "A pool's size and how many of its codes were drawn and redeemed.",
    response=PoolCountsOut,
    errors=(401, 404, 422),
)
def show_pool(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    pool_id = path_id(request, "coupon pool")
    pool = get_pool(session=session, pool_id=pool_id)
    counts = pool_counts(session=session, pool_id=pool_id)
    return PoolCountsOut(
        id=pool_id,
        name=pool.name,
        created_at=pool.created_at,
        size=counts.size,
        assigned=counts.assigned,
        redeemed=counts.redeemed,
        available=counts.available,
    ).model_dump(mode="json")


@api.post(
    "/coupons/{code}/redeem",
    "Redeem a coupon: succeeds once, 409 for every later attempt.",
    request=RedeemIn,
    body_optional=True,
    response=CouponOut,
    errors=(400, 401, 404, 409, 415, 422),
)
async def redeem(request: Request) -> JSONResponse:
    code: str = request.path_params["code"]
    body = await read_model(request, RedeemIn, optional=True)
    ctx = context(request)

    def work(session: Session) -> dict[str, Any]:
        redeem_coupon(
            session=session,
            clock=ctx.clock,
            code=code,
            by=body.by,
            location=body.location,
        )
        return _public(coupon_state(session=session, code=code))

    return JSONResponse(await ctx.in_session(work))


@api.get(
    "/coupons/{code}",
    "A coupon's state: valid or redeemed (when, by whom, where).",
    response=CouponOut,
    errors=(401, 404),
)
def show(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    code: str = request.path_params["code"]
    return _public(coupon_state(session=session, code=code))
