"""Contacts API: CSV import, a contact's history, groups and segments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from richsms.db import session_scope
from sender.audience_select import count_audience
from sender.contact_history import contact_history, state_times
from sender.csv_import import import_contacts
from sender.groups import add_members, create_group
from sender.segments import create_segment, get_segment
from web.bodies import read_body, read_model
from web.errors import BadRequest
from web.openapi import Operation

# What browsers and tools send for a .csv file.
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


class RejectedRow(BaseModel):
    row: int = Field(description="Row in the file; the header is row 1, data starts at 2.")
    reason: str


class ImportOut(BaseModel):
    imported: int = Field(description="New contacts.")
    updated: int = Field(description="Existing contacts the file's rows were merged into.")
    rejected: list[RejectedRow]
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


class ContactOut(BaseModel):
    id: int
    phone: str
    first_name: str
    last_name: str
    email: str
    language: str
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
    consent_history: list[ConsentOut]
    messages: list[MessageOut]
    inbound: list[InboundOut]


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class GroupOut(BaseModel):
    id: int
    name: str
    created_at: datetime


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_ids: list[int] = Field(default_factory=list, max_length=1_000_000)
    phones: list[str] = Field(default_factory=list, max_length=1_000_000)


class MembersOut(BaseModel):
    added: int
    already_members: int
    unknown_contact_ids: list[int]
    unknown_phones: list[str]


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    filters: list[dict[str, Any]] = Field(
        max_length=50,
        description='Conditions, all required: {"field", "op", "value"} (see sender.segments).',
    )


class SegmentOut(BaseModel):
    id: int
    name: str
    filters: list[dict[str, Any]]
    created_at: datetime


class CountOut(BaseModel):
    id: int
    contacts: int = Field(description="Contacts matching the segment now.")
    subscribed: int = Field(description="Of those, contacts who have not opted out.")


def _created(model: BaseModel) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=201)


async def import_csv(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise BadRequest(415, "send the file as text/csv")
    data = await read_body(request)
    state = request.app.state
    region = request.query_params.get("region") or state.settings.default_region

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            report = import_contacts(session=session, data=data, clock=state.clock, region=region)
        return ImportOut.model_validate(report.as_dict()).model_dump(mode="json")

    return JSONResponse(await run_in_threadpool(work))


async def show_contact(request: Request) -> JSONResponse:
    contact_id: int = request.path_params["contact_id"]
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with session_scope(engine) as session:
            history = contact_history(session=session, contact_id=contact_id)
        contact = history.contact
        data = contact.model_dump()
        data["timezones"] = contact.timezones.split()
        data["consent_history"] = [e.model_dump() for e in history.consents]
        data["messages"] = [{**m.model_dump(), "times": state_times(m)} for m in history.messages]
        data["inbound"] = [i.model_dump() for i in history.inbound]
        return ContactOut.model_validate(data).model_dump(mode="json")

    return JSONResponse(await run_in_threadpool(work))


async def new_group(request: Request) -> JSONResponse:
    body = await read_model(request, GroupIn)
    state = request.app.state

    def work() -> GroupOut:
        with session_scope(state.engine) as session:
            group = create_group(session=session, name=body.name, clock=state.clock)
            return GroupOut.model_validate(group.model_dump())

    return _created(await run_in_threadpool(work))


async def add_group_members(request: Request) -> JSONResponse:
    group_id: int = request.path_params["group_id"]
    body = await read_model(request, MembersIn)
    state = request.app.state

    def work() -> dict[str, Any]:
        with session_scope(state.engine) as session:
            change = add_members(
                session=session,
                group_id=group_id,
                clock=state.clock,
                region=state.settings.default_region,
                contact_ids=body.contact_ids,
                phones=body.phones,
            )
        return MembersOut(
            added=len(change.changed_ids),
            already_members=change.unchanged,
            unknown_contact_ids=list(change.unknown_contact_ids),
            unknown_phones=list(change.unknown_phones),
        ).model_dump(mode="json")

    return JSONResponse(await run_in_threadpool(work))


async def new_segment(request: Request) -> JSONResponse:
    body = await read_model(request, SegmentIn)
    state = request.app.state

    def work() -> SegmentOut:
        with session_scope(state.engine) as session:
            segment = create_segment(
                session=session, name=body.name, filters=body.filters, clock=state.clock
            )
            return SegmentOut.model_validate(segment.model_dump())

    return _created(await run_in_threadpool(work))


async def segment_count(request: Request) -> JSONResponse:
    segment_id: int = request.path_params["segment_id"]
    engine = request.app.state.engine

    def work() -> dict[str, Any]:
        with session_scope(engine) as session:
            get_segment(session=session, segment_id=segment_id)
            counts = [
                count_audience(
                    session=session,
                    group_ids=(),
                    segment_ids=[segment_id],
                    subscribed_only=subscribed,
                )
                for subscribed in (False, True)
            ]
        return CountOut(id=segment_id, contacts=counts[0], subscribed=counts[1]).model_dump()

    return JSONResponse(await run_in_threadpool(work))


ROUTES = [
    Route("/contacts/import", import_csv, methods=["POST"]),
    Route("/contacts/{contact_id:int}", show_contact, methods=["GET"]),
    Route("/groups", new_group, methods=["POST"]),
    Route("/groups/{group_id:int}/members", add_group_members, methods=["POST"]),
    Route("/segments", new_segment, methods=["POST"]),
    Route("/segments/{segment_id:int}/count", segment_count, methods=["GET"]),
]
_E = (400, 401, 413, 415, 422)
OPERATIONS = [
    Operation(
        "POST",
        "/api/contacts/import",
        "Import contacts from a CSV body (text/csv; UTF-8 or Latin-1; `,` or `;`). Query "
        "`region` reads national numbers (default RICHSMS_DEFAULT_REGION). Bad rows are "
        "reported with their row number (the header is row 1) while the others import.",
        response=ImportOut,
        errors=(401, 409, 413, 415, 422),
        tags=("contacts",),
    ),
    Operation(
        "GET",
        "/api/contacts/{contact_id}",
        "A contact with its consent history, the messages sent to it (each state's time) "
        "and the messages received from it.",
        response=ContactOut,
        errors=(401, 404),
        tags=("contacts",),
    ),
    Operation(
        "POST",
        "/api/groups",
        "Create a static group of contacts.",
        request=GroupIn,
        response=GroupOut,
        errors=(*_E, 409),
        tags=("contacts",),
    ),
    Operation(
        "POST",
        "/api/groups/{group_id}/members",
        "Add contacts to a group by id or phone; unknown ones are listed, not created.",
        request=MembersIn,
        response=MembersOut,
        errors=(*_E, 404),
        tags=("contacts",),
    ),
    Operation(
        "POST",
        "/api/segments",
        "Create a segment: filters on fields, language, consent, messages received and "
        "clicks, evaluated each time the segment is used.",
        request=SegmentIn,
        response=SegmentOut,
        errors=(*_E, 409),
        tags=("contacts",),
    ),
    Operation(
        "GET",
        "/api/segments/{segment_id}/count",
        "How many contacts match the segment now.",
        response=CountOut,
        errors=(401, 404),
        tags=("contacts",),
    ),
]
