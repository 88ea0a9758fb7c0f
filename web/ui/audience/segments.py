"""The segment builder: condition rows (field, operator, value, as `sender.audience.segments`
accepts them), a live count of the contacts they match while the marketer edits (htmx),
then saving through `create_segment` like `POST /api/segments`; list and delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, and_, case, func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import RichsmsError
from richsms.i18n import N_
from sender.audience.contacts import CONSENT_TYPES, ERASED, SUBSCRIBED
from sender.audience.custom_fields import known_fields
from sender.audience.models import Contact, Segment
from sender.audience.segments import (
    FIELDS,
    MAX_CONDITIONS,
    TEXT_OPS,
    create_segment,
    duplicate_segment,
    get_segment,
    list_segments,
    segment_condition,
    update_segment,
    validate_filters,
)
from sender.audience.selection import delete_unused_segment
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, fragment, page

OP_LABELS = {
    "eq": N_("is"),
    "ne": N_("is not"),
    "in": N_("is one of"),
    "not_in": N_("is none of"),
    "contains": N_("contains"),
    "startswith": N_("starts with"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "exists": N_("is filled in"),
    "not_exists": N_("is empty"),
}


def _row_count(form: dict[str, str]) -> int:
    raw = form.get("rows", "1")
    rows = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else 1
    if form.get("action") == "add":
        rows += 1
    return max(1, min(rows, MAX_CONDITIONS))


def _value(field: str, op: str, raw: str) -> Any:
    """The value as the segments module compares it: none for exists, a list for in,
    a number of messages, true or false for clicked, else the text."""
    raw = raw.strip()
    if op in ("exists", "not_exists"):
        return None
    if op in ("in", "not_in"):
        return [v.strip() for v in raw.split(",") if v.strip()]
    if field == "messages_received" and raw.isascii() and raw.isdigit() and len(raw) < 10:
        return int(raw)
    if field == "clicked" and raw.lower() in ("true", "false", "yes", "no", "oui", "non"):
        return raw.lower() in ("true", "yes", "oui")
    return raw


def filters_of(form: dict[str, str]) -> list[dict[str, Any]]:
    """The conditions typed in the builder; a row without a field is left out."""
    filters = []
    for i in range(_row_count(form)):
        if form.get(f"remove-{i}") or form.get("action") == f"remove-{i}":
            continue
        field = form.get(f"field-{i}", "").strip()
        op = form.get(f"op-{i}", "eq").strip()
        if field:
            value = _value(field, op, form.get(f"value-{i}", ""))
            filters.append({"field": field, "op": op, "value": value})
    return filters


def _count(db: Session, filters: list[dict[str, Any]]) -> dict[str, int]:
    """What `audience_counts` says of a saved segment, for conditions not saved yet."""
    condition = and_(col(Contact.status) != ERASED, segment_condition(validate_filters(filters)))
    subscribed = col(Contact.status) == SUBSCRIBED
    consented = and_(subscribed, col(Contact.consent_type).in_(CONSENT_TYPES))

    def tally(when: Any) -> Any:
        return func.coalesce(func.sum(case((when, 1), else_=0)), 0).cast(Integer)

    total, reachable, with_consent = db.execute(
        select_columns(func.count(), tally(subscribed), tally(consented))
        .select_from(Contact)
        .where(condition)
    ).one()
    return {
        "contacts": int(total),
        "subscribed": int(with_consent),
        "unconsented": int(reachable) - int(with_consent),
    }


def _rows(form: dict[str, str]) -> list[dict[str, str]]:
    rows = []
    for i in range(_row_count(form)):
        if form.get("action") == f"remove-{i}":
            continue
        rows.append({k: form.get(f"{k}-{i}", "") for k in ("field", "op", "value")})
    return rows or [{"field": "", "op": "eq", "value": ""}]


def _builder(
    view: Viewer, db: Session, form: dict[str, str], status: int = 200, **context: object
) -> Response:
    fields = [*FIELDS, *(f"fields.{name}" for name in sorted(known_fields(db)))]
    return page(
        view,
        "segments.html",
        status,
        segments=list_segments(session=db),
        fields=fields,
        ops=TEXT_OPS,
        op_labels=OP_LABELS,
        rows=_rows(form),
        name=form.get("name", ""),
        **context,
    )


def segments(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    return _builder(view, db, {}, notice=request.query_params.get("notice", ""))


def count(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    filters = filters_of(form)
    if not filters:
        return fragment(view, "segments_count.html", counts=None)
    try:
        counts = _count(db, filters)
    except RichsmsError as exc:
        return fragment(
            view, "segments_count.html", counts=None, count_problem=exc.told(view.gettext)
        )
    return fragment(view, "segments_count.html", counts=counts)


def save(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """The builder's form: "add a condition" and "remove" redraw it, "save" stores it."""
    if form.get("action", "save") != "save":
        return _builder(view, db, form)
    try:
        create_segment(
            session=db,
            name=form.get("name", ""),
            filters=filters_of(form),
            clock=context(request).clock,
        )
    except RichsmsError as exc:
        db.rollback()
        return _builder(view, db, form, 422, problem=exc.told(view.gettext))
    return back_to("/ui/segments", N_("Segment saved."))


def _form_of(segment: Segment) -> dict[str, str]:
    """The builder's form filled with the segment's conditions (the inverse of
    `filters_of`): a list is written with commas, no value as nothing."""
    form = {"name": segment.name, "rows": str(len(segment.filters))}
    for i, condition in enumerate(segment.filters):
        value = condition.get("value")
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        form |= {
            f"field-{i}": str(condition.get("field", "")),
            f"op-{i}": str(condition.get("op", "eq")),
            f"value-{i}": "" if value is None else str(value),
        }
    return form


def edit_form(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    segment = get_segment(session=db, segment_id=path_id(request, "segment"))
    notice = request.query_params.get("notice", "")
    return _builder(view, db, _form_of(segment), editing=segment, notice=notice)


def edit(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """The builder's form for a saved segment: "save" replaces its name and conditions."""
    segment = get_segment(session=db, segment_id=path_id(request, "segment"))
    if form.get("action", "save") != "save":
        return _builder(view, db, form, editing=segment)
    try:
        update_segment(
            session=db,
            segment_id=segment.id or 0,
            name=form.get("name", ""),
            filters=filters_of(form),
        )
    except RichsmsError as exc:
        db.rollback()
        problem = exc.told(view.gettext)
        return _builder(view, db, form, 422, problem=problem, editing=segment)
    return back_to("/ui/segments", N_("Segment saved."))


def duplicate(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    original = get_segment(session=db, segment_id=path_id(request, "segment"))
    copy = duplicate_segment(
        session=db,
        segment_id=original.id or 0,
        clock=context(request).clock,
        name=view.gettext("{name} (copy)").format(name=original.name),
    )
    return back_to(f"/ui/segments/{copy.id}", N_("Segment duplicated."))


def delete(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    segment_id = path_id(request, "segment")
    delete_unused_segment(session=db, segment_id=segment_id)
    return back_to("/ui/segments", N_("Segment deleted."))
