"""Segments API: dynamic audiences, validated when saved, counted, listed, changed, deleted."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from richsms.accounts.roles import Permission
from sender.audience.models import Segment
from sender.audience.segments import (
    MAX_CONDITIONS,
    create_segment,
    duplicate_segment,
    get_segment,
    list_segments,
    update_segment,
)
from sender.audience.selection import audience_counts, delete_unused_segment
from web.bodies import DuplicateIn
from web.context import AppContext
from web.openapi import RouteTable

_FILTERS = (
    'Conditions, all required: {"field", "op", "value"} (see sender.audience.segments); at most '
    "1,000 values in all, numbers from 0 to 1,000,000, times from 1900 to 2200."
)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    filters: list[dict[str, Any]] = Field(max_length=MAX_CONDITIONS, description=_FILTERS)


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    filters: list[dict[str, Any]] | None = Field(
        None, max_length=MAX_CONDITIONS, description=_FILTERS
    )


class SegmentOut(BaseModel):
    id: int
    name: str
    filters: list[dict[str, Any]]
    created_at: datetime


class SegmentList(BaseModel):
    segments: list[SegmentOut]


class CountOut(BaseModel):
    id: int
    contacts: int = Field(description="Contacts matching the segment now.")
    subscribed: int = Field(
        description="Of those, subscribed with a recorded consent (express or implied): "
        "promotional messages may reach them."
    )
    unconsented: int = Field(
        description="Subscribed but without a recorded consent: informational messages only."
    )
    opted_out: int


def _out(segment: Segment) -> SegmentOut:
    return SegmentOut.model_validate(segment.model_dump())


api = RouteTable(tags=("contacts",))


@api.post(
    "/segments",
    "Create a segment: filters on fields, language, consent, messages received and "
    "clicks, validated now and evaluated each time the segment is used.",
    errors=(409,),
    status=201, needs=Permission.AUDIENCE,
)
def new_segment(ctx: AppContext, session: Session, body: SegmentIn) -> SegmentOut:
    return _out(create_segment(session=session, clock=ctx.clock, **body.model_dump()))


api.listing(
    "/segments", "Every segment, by name.", list_segments, _out, SegmentList,
    needs=Permission.AUDIENCE,
)
api.showing(
    "/segments/{segment_id:int}", "A segment and its filters.", get_segment, _out,
    needs=Permission.AUDIENCE,
)


@api.patch(
    "/segments/{segment_id:int}",
    "Rename a segment or replace its filters (validated like new ones).",
    errors=(409,), needs=Permission.AUDIENCE,
)
def patch_segment(session: Session, body: SegmentPatch, segment_id: int) -> SegmentOut:
    changes = body.model_dump()
    return _out(update_segment(session=session, segment_id=segment_id, **changes))


@api.post(
    "/segments/{segment_id:int}/duplicate",
    "A new segment with the same filters (`name`, default the original's + ' (copy)').",
    errors=(409,),
    status=201, needs=Permission.AUDIENCE,
)
def copy_segment(
    ctx: AppContext, session: Session, body: DuplicateIn, segment_id: int
) -> SegmentOut:
    segment = duplicate_segment(
        session=session, segment_id=segment_id, clock=ctx.clock, name=body.name
    )
    return _out(segment)


api.deletion(
    "/segments/{segment_id:int}",
    "Delete a segment; 409 while a campaign still to send uses it.",
    delete_unused_segment,
    "SegmentDeletedOut",
    errors=(409,), needs=Permission.AUDIENCE,
)


@api.get(
    "/segments/{segment_id:int}/count",
    "How many contacts match the segment now: subscribed with consent, subscribed "
    "without consent, opted out.", needs=Permission.AUDIENCE,
)
def segment_count(session: Session, segment_id: int) -> CountOut:
    get_segment(session=session, segment_id=segment_id)
    counts = audience_counts(session=session, group_ids=(), segment_ids=[segment_id])
    return CountOut(id=segment_id, **asdict(counts))
