"""Contacts API: CSV import; list, search, read, correct and erase contacts; a contact's
history. Groups, segments and sender numbers have their own modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from richsms.accounts.roles import Permission
from richsms.types import ID_MAX, Flag
from sender.audience.contact_edit import ContactChanges, update_contact
from sender.audience.contact_history import contact_history, state_times
from sender.audience.contact_search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY, list_contacts
from sender.audience.csv_import import import_contacts
from sender.audience.erasure import erase_contact
from sender.audience.import_rejects import SHOWN
from sender.audience.models import Contact
from web.bodies import read_csv
from web.context import AppContext, context
from web.errors import BadRequest
from web.import_reports import REPORT_PATTERN, download, report_url
from web.openapi import RouteTable


class RejectedRow(BaseModel):
    row: int = Field(description="Row in the file; the header is row 1, data starts at 2.")
    reason: str


class ImportOut(BaseModel):
    imported: int = Field(description="New contacts.")
    updated: int = Field(description="Existing contacts the file's rows were merged into.")
    rejected: list[RejectedRow] = Field(
        description=f"The first {SHOWN} rejected rows; `rejected_url` lists them all."
    )
    rejected_count: int = Field(description="Rows rejected, all told.")
    rejected_url: str | None = Field(
        description="Every rejected row as CSV (row, reason), kept 24 hours; null when "
        "none was rejected."
    )
    rows: int = Field(description="Data rows read (blank lines not counted).")
    duplicates: int = Field(description="Rows merged into an earlier row of the same phone.")


class ConsentOut(BaseModel):
    kind: str = Field(description="express, implied, opt_out or opt_in")
    source: str
    at: datetime


class MessageOut(BaseModel):
    id: int
    campaign_id: int | None
    type: str
    text: str
    state: str
    times: dict[str, datetime] = Field(description="When the message reached each state.")


class InboundOut(BaseModel):
    id: int
    campaign_id: int | None
    to: str
    text: str
    keyword: str | None
    received_at: datetime


class ContactSummary(BaseModel):
    id: int
    phone: str
    first_name: str
    last_name: str
    email: str
    language: str | None = Field(
        description="fr or en; null: not said (their messages follow their number's country)."
    )
    timezones: list[str]
    fields: dict[str, Any]
    status: str
    consent_type: str | None
    consent_source: str | None
    consent_at: datetime | None
    opted_out_at: datetime | None
    opted_out_via: str | None
    created_at: datetime
    updated_at: datetime


class ContactPageOut(BaseModel):
    contacts: list[ContactSummary]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


class ContactPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(None, min_length=1, max_length=40)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    language: str | None = Field(None, min_length=1, max_length=40)
    timezones: str | None = Field(None, min_length=1, max_length=500)
    fields: dict[str, str | None] = Field(
        default_factory=dict,
        max_length=200,
        description="Custom fields to set; null removes one.",
    )
    opted_out: Flag | None = Field(
        None, description="true opts the contact out; only the contact can opt back in."
    )
    consent_type: str | None = Field(None, max_length=40)
    consent_source: str | None = Field(None, max_length=200)


class ErasureOut(BaseModel):
    contact_id: int
    messages: int = Field(description="Messages kept for the statistics, phone and text erased.")
    inbound: int = Field(description="Inbound messages kept, phone and text erased.")
    consent_events: int
    memberships: int
    clicks: int = Field(description="Clicks kept, IP, user agent and referrer erased.")
    webhook_payloads: int = Field(
        description="Reply events for webhooks (queued or delivered) whose text was erased."
    )


class ClickOut(BaseModel):
    at: datetime
    link: str
    campaign_id: int | None
    human: bool


class CouponOut(BaseModel):
    code: str
    campaign_id: int | None
    page_id: int | None
    redeemed_at: datetime | None
    redeemed_by: str | None


class HistoryOut(BaseModel):
    id: int
    consent_history: list[ConsentOut]
    messages: list[MessageOut]
    inbound: list[InboundOut]
    clicks: list[ClickOut] = Field(default_factory=list, description="Taps on their links.")
    coupons: list[CouponOut] = Field(default_factory=list, description="Coupons and their use.")


# A contact with their history: the summary's fields first (no docstring: it would
# become the schema's description).
class ContactOut(ContactSummary):
    consent_history: list[ConsentOut]
    messages: list[MessageOut]
    inbound: list[InboundOut]


Shown = TypeVar("Shown", bound=BaseModel)
api = RouteTable(tags=("contacts",))


@api.post(
    "/contacts/import",
    "Import contacts from a CSV body (text/csv; UTF-8 or Latin-1; `,` or `;`). Query "
    "`region` reads national numbers (default RICHSMS_DEFAULT_REGION): a number without "
    "a country code is never read as another country; its row is rejected, with a "
    "suggestion when it is valid in a country the file also uses. At most 200 custom "
    "columns of 64 characters. Bad rows are reported with their row number (the header "
    "is row 1) while the others import.",
    response=ImportOut,
    errors=(409,),
    body="text/csv", needs=Permission.AUDIENCE,
)
async def import_csv(request: Request) -> JSONResponse:
    data = await read_csv(request, "send the file as text/csv")
    ctx = context(request)
    region = request.query_params.get("region") or ctx.settings.default_region

    def work(session: Session) -> dict[str, Any]:
        report = import_contacts(
            session=session,
            data=data,
            clock=ctx.clock,
            region=region,
            reports=ctx.settings.import_reports,
        )
        url = report_url("/api/contacts/imports", report.rejected_report)
        return ImportOut.model_validate({**report.as_dict(), "rejected_url": url}).model_dump(
            mode="json"
        )

    return JSONResponse(await ctx.in_session(work))


@api.get(
    "/contacts/imports/{report:str}/rejected.csv",
    "Every row an import rejected, as CSV `row,reason` (its `rejected_url`; cells "
    "neutralised against spreadsheet formulas), streamed; kept 24 hours.",
    response_media="text/csv",
    errors=(404,),
    patterns=(REPORT_PATTERN,), needs=Permission.AUDIENCE,
)
async def rejected_rows(request: Request) -> Response:
    return download(context(request).settings.import_reports, request.path_params["report"])


def _contact_data(contact: Contact) -> dict[str, Any]:
    data = contact.model_dump()
    data["timezones"] = contact.timezones.split()
    return data


def _history(model: type[Shown]) -> Callable[[Session, int], Shown]:
    """A contact's history, as `model` shows it."""

    def show(session: Session, contact_id: int) -> Shown:
        history = contact_history(session=session, contact_id=contact_id)
        data = _contact_data(history.contact)
        data["consent_history"] = [e.model_dump() for e in history.consents]
        data["messages"] = [{**m.model_dump(), "times": state_times(m)} for m in history.messages]
        data["inbound"] = [i.model_dump() for i in history.inbound]
        data["clicks"] = [asdict(c) for c in history.clicks]
        data["coupons"] = [asdict(c) for c in history.coupons]
        return model.model_validate(data)

    return show


# One history, two views of it: the contact with its history, and the history alone.
for path, model, summary in (
    (
        "/contacts/{contact_id:int}",
        ContactOut,
        "A contact with its consent history, the messages sent to it (each state's time) "
        "and the messages received from it.",
    ),
    (
        "/contacts/{contact_id:int}/history",
        HistoryOut,
        "Everything that happened with a contact: consent events, messages sent to it with "
        "each state's time, messages received from it.",
    ),
):
    api.get(path, summary, response=model, needs=Permission.AUDIENCE)(_history(model))


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter from `low` to `high`, or a clear 422."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise BadRequest(
            422, f"{name} must be a whole number from {low} to {high}", code="invalid_input"
        )
    return int(raw)


def query_ids(request: Request, name: str) -> list[int]:
    """Ids given as `name=1&name=2` or `name=1,2`; 404 past the database's range."""
    ids = []
    for raw in request.query_params.getlist(name)[:50]:
        for part in raw.split(",")[:50]:
            if not (part.isascii() and part.isdigit() and len(part) <= 12):
                raise BadRequest(
                    422, f"{name} must be ids, got {part[:40]!r}", code="invalid_input"
                )
            if not 1 <= int(part) <= ID_MAX:
                raise BadRequest(404, f"no {name} with id {part}", code="not_found")
            ids.append(int(part))
    return ids


@api.get(
    "/contacts",
    "List contacts in id order, a page at a time: `q` searches the phone, names and "
    "email; `group` and `segment` (ids, repeatable) restrict to an audience; `after` "
    f"is the previous page's `next_after`; `limit` 1 to {MAX_LIMIT} "
    f"(default {DEFAULT_LIMIT}).",
    errors=(404, 422), needs=Permission.AUDIENCE,
)
def search_contacts(request: Request, ctx: AppContext, session: Session) -> ContactPageOut:
    q = request.query_params.get("q", "")
    if len(q) > MAX_QUERY:
        raise BadRequest(422, f"q has at most {MAX_QUERY} characters", code="invalid_input")
    page = list_contacts(
        session=session,
        region=ctx.settings.default_region,
        q=q,
        group_ids=query_ids(request, "group"),
        segment_ids=query_ids(request, "segment"),
        after=query_int(request, "after", 0, 0, ID_MAX),
        limit=query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
    )
    contacts = [_contact_data(c) for c in page.contacts]
    return ContactPageOut.model_validate({"contacts": contacts, "next_after": page.next_after})


@api.patch(
    "/contacts/{contact_id:int}",
    "Correct a contact: each field checked like an import's, the phone normalized "
    "again (409 if another contact has it); `opted_out: true` opts out.",
    errors=(409,), needs=Permission.AUDIENCE,
)
def patch_contact(
    ctx: AppContext, session: Session, body: ContactPatch, contact_id: int
) -> ContactSummary:
    region, changes = ctx.settings.default_region, ContactChanges(**body.model_dump())
    contact = update_contact(
        session=session, contact_id=contact_id, changes=changes, region=region, clock=ctx.clock
    )
    return ContactSummary.model_validate(_contact_data(contact))


@api.delete(
    "/contacts/{contact_id:int}",
    "Erase a contact (GDPR, Law 25, CASL): its phone, names, email, custom fields, "
    "consent history and memberships are deleted; its messages, replies and clicks keep "
    "only what statistics count (phone, text, IP, user agent erased), so campaign "
    "figures stay right. The contact is then gone (404) and never messaged.",
    needs=Permission.AUDIENCE,
)
def delete_contact(ctx: AppContext, session: Session, contact_id: int) -> ErasureOut:
    erasure = erase_contact(session=session, contact_id=contact_id, clock=ctx.clock)
    return ErasureOut.model_validate(erasure.as_dict())
