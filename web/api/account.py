"""The account's profile API: the brand name its promotional messages must contain (the
SMS analysis warns when one does not)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from richsms.accounts.profile import MAX_BRAND_NAME, brand_name, set_brand_name
from richsms.accounts.roles import Permission
from web.context import AppContext
from web.openapi import RouteTable


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    brand_name: str | None = Field(
        max_length=MAX_BRAND_NAME,
        description="The name that identifies the sender in each promotional message "
        "(Canada's anti-spam law); empty or null clears it.",
    )


class AccountOut(BaseModel):
    brand_name: str | None


api = RouteTable(tags=("account",))


@api.get("/account", "The account's profile: its brand name.", needs=Permission.BUILD)
def show_account(session: Session) -> AccountOut:
    return AccountOut(brand_name=brand_name(session))


@api.put(
    "/account",
    "Set the account's brand name, which the SMS analysis looks for in promotional texts.",
    needs=Permission.ADMINISTER,
)
def put_account(ctx: AppContext, session: Session, body: AccountIn) -> AccountOut:
    stored = set_brand_name(session=session, clock=ctx.clock, brand_name=body.brand_name)
    return AccountOut(brand_name=stored)
