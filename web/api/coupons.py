"""Coupons API: import a pool of codes, redeem a coupon exactly once, read its state."""

from __future__ import annotations

from dataclasses import asdict
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
from richsms.accounts.roles import Permission
from web.bodies import read_csv
from web.context import AppContext, context
from web.openapi import RouteTable


class RejectedRow(BaseModel):
    row: int = Field(description="Line in the file (a header is line 1).")
    reason: str


class Pool(BaseModel):
    # A pool as every answer about it starts (no docstring: it would become theirs).
    id: int
    name: str
    created_at: datetime


class PoolOut(Pool):
    imported: int = Field(description="Codes added to the pool.")
    rows: int = Field(description="Data rows read (blank lines not counted).")
    rejected: list[RejectedRow] = Field(
        description="Rows not imported: not a valid code, a duplicate of an earlier row, or "
        "a code that already exists."
    )
    size: int
    available: int = Field(description="Codes no recipient has drawn yet.")


class PoolCountsOut(Pool):
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


def _public(state: CouponState) -> CouponOut:
    return CouponOut.model_validate(state, from_attributes=True)


api = RouteTable(tags=("coupons",))


@api.post(
    "/coupon-pools",
    "Import a pool of coupon codes from a CSV body (`?name=`); answers 201.",
    response=PoolOut,
    errors=(409,),
    status=201,
    body="text/csv", needs=Permission.BUILD,
)
async def create_pool(request: Request) -> JSONResponse:
    data = await read_csv(request, "send the codes as text/csv: one per line, or a `code` column")
    ctx = context(request)
    name = request.query_params.get("name") or f"Pool {ctx.clock.now():%Y-%m-%d %H:%M}"

    def work(session: Session) -> dict[str, Any]:
        pool, report = import_pool(
            session=session, clock=ctx.clock, name=name, csv_bytes=data
        )
        assert pool.id is not None
        counts = pool_counts(session=session, pool_id=pool.id)
        return PoolOut(
            **pool.model_dump(),
            imported=report.imported,
            rows=report.rows,
            rejected=[RejectedRow(row=row, reason=reason) for row, reason in report.rejected],
            size=counts.size,
            available=counts.available,
        ).model_dump(mode="json")

    return JSONResponse(await ctx.in_session(work), status_code=201)


@api.get(
    "/coupon-pools/{id}",
    "A pool's size and how many of its codes were drawn and redeemed.", needs=Permission.BUILD,
)
def show_pool(session: Session, id: int) -> PoolCountsOut:
    pool = get_pool(session=session, pool_id=id)
    counts = pool_counts(session=session, pool_id=id)
    return PoolCountsOut(**pool.model_dump(), **asdict(counts), available=counts.available)


@api.post(
    "/coupons/{code}/redeem",
    "Redeem a coupon: succeeds once, 409 for every later attempt.",
    body_optional=True,
    errors=(409,), needs=Permission.REDEEM,
)
def redeem(ctx: AppContext, session: Session, body: RedeemIn, code: str) -> CouponOut:
    redeem_coupon(session=session, clock=ctx.clock, code=code, **body.model_dump())
    return _public(coupon_state(session=session, code=code))


@api.get(
    "/coupons/{code}", "A coupon's state: valid or redeemed (when, by whom, where).",
    needs=Permission.REDEEM,
)
def show(session: Session, code: str) -> CouponOut:
    return _public(coupon_state(session=session, code=code))
