"""Segments: dynamic audiences, stored as filters and turned into SQL each time they are used.

A segment's filters are a list of conditions, all of which must hold (AND); each is
`{"field", "op", "value"}`:

- text fields: `first_name`, `last_name`, `email`, `phone`, `language`, `status`,
  `consent_type`, and custom fields as `fields.<name>` (compared as strings). Ops `eq`,
  `ne`, `in`, `not_in` (exact), `contains`, `startswith` (ignoring case), `gt`, `gte`,
  `lt`, `lte` (string order), `exists` / `not_exists` (a non-empty value, no `value`).
  `ne` and `not_in` also match contacts without a value.
- `created_at`: an ISO 8601 time; `eq`, `ne`, `gt`, `gte`, `lt`, `lte`.
- `messages_received`: how many messages reached the contact (state sent or delivered,
  test sends excluded); `eq`, `ne`, `gt`, `gte`, `lt`, `lte` with a whole number.
- `clicked`: whether the contact ever clicked one of their links as a person (bots and
  link previews excluded); `eq` / `ne` with true or false.
- `redeemed` is refused until coupons exist.
- `reply.campaign_<id>`: the contact's answer to a campaign that offered reply choices
  (their latest reply that matched one): `eq` a choice ("2", "OUI", written as
  replies are matched: case and accents aside), `in` a list of them; `exists`: replied
  anything (matched or not); `not_exists`: received the campaign's message and never
  replied, its non-responders (to remind them).

Every mistake is reported with the condition's index: "filters[1]: ...".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, func, not_, or_, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput
from sender.audience.contacts import normalize_consent_type, normalize_language, normalize_status
from sender.audience.models import Contact, Segment
from sender.delivery.models import DELIVERED, SENT, ChoiceReply, Message, choice_key
from shortener.click_days import ClickDay
from shortener.models import Click, Link

# Bounds that keep every use of a saved segment (counts, analyses, planning) a query
# both databases run: bound parameters stay far under SQLite's and PostgreSQL's limits
# even when a campaign combines several segments, numbers fit a 64-bit integer, and
# times fit the columns (whose years run from 1 to 9999 in UTC).
MAX_CONDITIONS: Final = 50
MAX_VALUES: Final = 1_000  # values of one `in` / `not_in` list
MAX_TOTAL_VALUES: Final = 1_000  # values in all of a segment's conditions together
MAX_VALUE_LENGTH: Final = 1_000
MAX_MESSAGES: Final = 1_000_000
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2200
MAX_NAME: Final = 200
CUSTOM_PREFIX: Final = "fields."
REPLY_PREFIX: Final = "reply.campaign_"
REPLY_OPS: Final = ("eq", "in", "exists", "not_exists")
_CUSTOM_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,100}")

TEXT_OPS: Final = (
    "eq", "ne", "in", "not_in", "contains", "startswith", "gt", "gte", "lt", "lte",
    "exists", "not_exists",
)  # fmt: skip
ORDER_OPS: Final = ("eq", "ne", "gt", "gte", "lt", "lte")
BOOL_OPS: Final = ("eq", "ne")
TEXT_FIELDS: Final = (
    "first_name", "last_name", "email", "phone", "language", "status", "consent_type",
)  # fmt: skip
FIELDS: Final = (*TEXT_FIELDS, "created_at", "messages_received", "clicked")
# Columns that may be NULL: `ne` / `not_in` / `not_exists` must match their NULLs too.
_NULLABLE: Final = frozenset({"consent_type"})
# Values of these fields are checked, and written the way they are stored.
_CANONICAL: Final[dict[str, Callable[[str], str]]] = {
    "language": normalize_language,
    "consent_type": normalize_consent_type,
    "status": normalize_status,
}
_RECEIVED: Final = (SENT, DELIVERED)

Filters = list[dict[str, Any]]
_NAMED: Final = "a segment needs a name of 1 to {most} characters"


# --- Validation ------------------------------------------------------------------------


def validate_filters(filters: object) -> Filters:
    """The filters in their stored form (values normalized), or InvalidInput naming the
    condition and its problem."""
    if not isinstance(filters, list):
        raise InvalidInput("filters must be a list of conditions", code="invalid_filter")
    if len(filters) > MAX_CONDITIONS:
        raise InvalidInput(
            "at most {most} conditions", params={"most": MAX_CONDITIONS}, code="invalid_filter"
        )
    checked: Filters = []
    values = 0
    for index, condition in enumerate(filters):
        try:
            checked.append(_validate(condition))
        except InvalidInput as exc:
            raise InvalidInput(
                "filters[{index}]: {reason}",
                params={"index": index, "n": index + 1, "reason": exc},
                code="invalid_filter",
            ) from None
        value = checked[-1]["value"]
        values += len(value) if isinstance(value, list) else 1
        if values > MAX_TOTAL_VALUES:
            raise InvalidInput(
                "a segment compares with at most {most} values in all",
                params={"most": MAX_TOTAL_VALUES},
                code="invalid_filter",
            )
    return checked


def _validate(condition: object) -> dict[str, Any]:
    if not isinstance(condition, dict):
        raise InvalidInput('a condition is an object {"field", "op", "value"}')
    extra = set(condition) - {"field", "op", "value"}
    if extra:
        raise InvalidInput("unexpected key {key}", params={"key": _shown(sorted(extra)[0])})
    name, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if not isinstance(name, str):
        raise InvalidInput("'field' is missing")
    if not isinstance(op, str):
        raise InvalidInput("'op' is missing")
    if name == "redeemed":
        raise InvalidInput("the 'redeemed' filter is not available: coupons do not exist yet")
    if name.startswith(REPLY_PREFIX):
        return {"field": name, "op": op, "value": _reply_value(name, op, value)}
    if name.startswith(CUSTOM_PREFIX):
        custom = name[len(CUSTOM_PREFIX) :]
        if not _CUSTOM_NAME.fullmatch(custom):
            raise InvalidInput(
                "a custom field name is letters, digits and _: {name}",
                params={"name": _shown(name)},
            )
        return {"field": name, "op": op, "value": _text_value(name, op, value)}
    if name not in FIELDS:
        raise InvalidInput(
            "unknown field {name}: use {known}, fields.<custom field> or "
            "reply.campaign_<id>",
            params={"name": _shown(name), "known": ", ".join(FIELDS)},
        )
    if name == "created_at":
        _check_op(name, op, ORDER_OPS)
        return {"field": name, "op": op, "value": _time(value).isoformat()}
    if name == "messages_received":
        _check_op(name, op, ORDER_OPS)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_MESSAGES:
            raise InvalidInput(
                "messages_received is compared with a whole number from 0 to {most}",
                params={"most": MAX_MESSAGES},
            )
        return {"field": name, "op": op, "value": value}
    if name == "clicked":
        _check_op(name, op, BOOL_OPS)
        if not isinstance(value, bool):
            raise InvalidInput("clicked is compared with true or false")
        return {"field": name, "op": op, "value": value}
    return {"field": name, "op": op, "value": _text_value(name, op, value)}


def _reply_value(name: str, op: str, value: object) -> object:
    campaign = name[len(REPLY_PREFIX) :]
    if not (campaign.isascii() and campaign.isdigit() and len(campaign) <= 10):
        raise InvalidInput(
            "a reply field names a campaign by its id: reply.campaign_12, not {name}",
            params={"name": _shown(name)},
        )
    _check_op(name, op, REPLY_OPS)
    if op in ("exists", "not_exists"):
        if value is not None:
            raise InvalidInput("{op} takes no value", params={"op": op})
        return None
    given = value if op == "in" else [value]
    if not isinstance(given, list) or not 1 <= len(given) <= MAX_VALUES:
        raise InvalidInput(
            "{op} takes a list of 1 to {most} values", params={"op": op, "most": MAX_VALUES}
        )
    keys = [
        choice_key(str(v))
        if isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= 40
        else ""
        for v in given
    ]
    if not all(keys):
        raise InvalidInput("{field} is compared with a choice: digits or a word",
                           params={"field": name})  # fmt: skip
    return keys if op == "in" else keys[0]


def _check_op(name: str, op: str, allowed: Sequence[str]) -> None:
    if op not in allowed:
        raise InvalidInput(
            "unknown op {op} for {field}: use {allowed}",
            params={"op": _shown(op), "field": name, "allowed": ", ".join(allowed)},
        )


def _text_value(name: str, op: str, value: object) -> object:
    _check_op(name, op, TEXT_OPS)
    custom = name.startswith(CUSTOM_PREFIX)
    canonical = _CANONICAL.get(name) if op in ("eq", "ne", "in", "not_in") else None

    def text(item: object) -> str:
        if custom and isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)  # custom fields are strings: 75001 means "75001"
        if not isinstance(item, str):
            raise InvalidInput(
                "{field} is compared with text, not {value}",
                params={"field": name, "value": _shown(item)},
            )
        if len(item) > MAX_VALUE_LENGTH:
            raise InvalidInput(
                "a value has at most {most} characters", params={"most": MAX_VALUE_LENGTH}
            )
        if "\x00" in item or any("\ud800" <= c <= "\udfff" for c in item):
            raise InvalidInput("a value may not hold NUL characters or lone surrogates")
        return canonical(item) if canonical is not None else item

    if op in ("exists", "not_exists"):
        if value is not None:
            raise InvalidInput("{op} takes no value", params={"op": op})
        return None
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
            raise InvalidInput(
                "{op} takes a list of 1 to {most} values", params={"op": op, "most": MAX_VALUES}
            )
        return [text(item) for item in value]
    checked = text(value)
    if op in ("contains", "startswith") and not checked:
        raise InvalidInput("{op} needs a non-empty value", params={"op": op})
    return checked


def _time(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInput("created_at is compared with an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            raise ValueError
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "not an ISO 8601 time from {low} to {high}: {value}",
            params={"low": MIN_YEAR, "high": MAX_YEAR, "value": _shown(value)},
        ) from None


def _shown(value: object) -> str:
    """A value as an error message quotes it: never thousands of characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- SQL -------------------------------------------------------------------------------


def segment_condition(filters: object) -> ColumnElement[bool]:
    """A WHERE clause over `contact` matching every condition (validated again: stored
    filters may predate a rule)."""
    conditions = [_condition(c) for c in validate_filters(filters)]
    return and_(true(), *conditions)


def _condition(condition: dict[str, Any]) -> ColumnElement[bool]:
    name, op, value = condition["field"], condition["op"], condition["value"]
    if name == "created_at":
        return _compare(col(Contact.created_at), op, datetime.fromisoformat(value))
    if name == "messages_received":
        received = (
            select(func.count())
            .where(
                col(Message.contact_id) == col(Contact.id),
                col(Message.state).in_(_RECEIVED),
                col(Message.is_test).is_(False),
            )
            .scalar_subquery()
        )
        return _compare(received, op, value)
    if name == "clicked":
        # Clicks carry their link's contact; reaching them through the contact's links
        # uses the indexes on link.contact_id and click.link_id (click has none of its own
        # on contact_id), so the check costs a few index probes per contact.
        clicked = or_(
            has_row(
                select(col(Click.id))
                .join(Link, col(Link.id) == col(Click.link_id))
                .where(
                    col(Link.contact_id) == col(Contact.id),
                    col(Click.contact_id) == col(Contact.id),
                    col(Click.is_bot).is_(False),
                )
            ),
            # Or on a day folded out of the raw log (sender/results/retention.py).
            has_row(
                select(col(ClickDay.link_id))
                .join(Link, col(Link.id) == col(ClickDay.link_id))
                .where(col(Link.contact_id) == col(Contact.id), col(ClickDay.human_clicks) > 0)
            ),
        )
        return clicked if (op == "eq") == value else not_(clicked)
    if name.startswith(REPLY_PREFIX):
        return _replied(int(name[len(REPLY_PREFIX) :]), op, value)
    if name.startswith(CUSTOM_PREFIX):
        column: Any = col(Contact.fields)[name[len(CUSTOM_PREFIX) :]].as_string()
        return _text(column, op, value, nullable=True)
    return _text(getattr(Contact, name), op, value, nullable=name in _NULLABLE)


def _replied(campaign_id: int, op: str, value: Any) -> ColumnElement[bool]:
    """Over `contact`: their answer to the campaign (see the module docstring)."""
    theirs = (
        col(ChoiceReply.contact_id) == col(Contact.id),
        col(ChoiceReply.campaign_id) == campaign_id,
    )
    if op in ("exists", "not_exists"):
        replied = has_row(select(col(ChoiceReply.id)).where(*theirs))
        if op == "exists":
            return replied
        received = has_row(
            select(col(Message.id)).where(
                col(Message.contact_id) == col(Contact.id),
                col(Message.campaign_id) == campaign_id,
                col(Message.state).in_(_RECEIVED),
                col(Message.is_test).is_(False),
            )
        )
        return and_(received, not_(replied))
    latest = (
        select(col(ChoiceReply.choice))
        .where(*theirs, col(ChoiceReply.choice).is_not(None))
        .order_by(col(ChoiceReply.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    return latest.in_(_listed(value)) if op == "in" else latest == value


def has_row(query: Select[Any] | SelectOfScalar[Any]) -> ColumnElement[bool]:
    """True for the contacts for which the correlated `query` finds a row.

    Written `(SELECT ... LIMIT 1) IS NOT NULL` on purpose, not EXISTS: PostgreSQL turns
    EXISTS into a semi-join that reads the whole other table (every group member, every
    click), and audiences are read page by page, so that would happen once per page. A
    scalar subquery stays a per-contact index probe: each page costs its own rows only.
    """
    return query.limit(1).scalar_subquery().is_not(None)


def _listed(values: list[str]) -> Any:
    # Written into the SQL rather than bound one parameter each: a campaign combining
    # many segments stays far from the databases' limits on bound parameters.
    return bindparam(None, values, type_=String(), expanding=True, literal_execute=True)


def _compare(column: Any, op: str, value: object) -> ColumnElement[bool]:
    comparisons: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
        "eq": lambda c, v: c == v,
        "ne": lambda c, v: c != v,
        "gt": lambda c, v: c > v,
        "gte": lambda c, v: c >= v,
        "lt": lambda c, v: c < v,
        "lte": lambda c, v: c <= v,
    }
    return comparisons[op](column, value)


def _text(
    column: ColumnElement[Any], op: str, value: Any, *, nullable: bool
) -> ColumnElement[bool]:
    missing = or_(column.is_(None), column == "") if nullable else column == ""
    if op == "exists":
        return not_(missing)
    if op == "not_exists":
        return missing
    if op == "in":
        return column.in_(_listed(value))
    if op == "not_in":
        result = column.not_in(_listed(value))
        return or_(column.is_(None), result) if nullable else result
    if op == "contains":
        return func.lower(column).contains(value.lower(), autoescape=True)
    if op == "startswith":
        return func.lower(column).startswith(value.lower(), autoescape=True)
    if op == "ne" and nullable:
        return or_(column.is_(None), column != value)
    return _compare(column, op, value)


# --- Storage ---------------------------------------------------------------------------


def create_segment(*, session: Session, name: str, filters: object, clock: Clock) -> Segment:
    """Validate and store a segment (committed). Conflict if the name is taken."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(_NAMED, params={"most": MAX_NAME})
    checked = validate_filters(filters)
    if session.exec(select(Segment).where(col(Segment.name) == name)).first() is not None:
        raise Conflict("a segment named {name} already exists", params={"name": repr(name)})
    segment = Segment(name=name, filters=checked, created_at=clock.now())
    session.add(segment)
    session.commit()
    return segment


def get_segment(*, session: Session, segment_id: int) -> Segment:
    return get_or_not_found(session, Segment, segment_id, f"no segment with id {segment_id}")


def list_segments(*, session: Session) -> list[Segment]:
    """Every segment, by name."""
    return list(session.exec(select(Segment).order_by(col(Segment.name), col(Segment.id))))


def update_segment(
    *,
    session: Session,
    segment_id: int,
    name: str | None = None,
    filters: object = None,
) -> Segment:
    """Rename a segment or replace its filters (validated like new ones); flushes."""
    segment = get_segment(session=session, segment_id=segment_id)
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(_NAMED, params={"most": MAX_NAME})
        taken = session.exec(
            select(col(Segment.id)).where(col(Segment.name) == name, col(Segment.id) != segment_id)
        ).first()
        if taken is not None:
            raise Conflict("a segment named {name} already exists", params={"name": repr(name)})
        segment.name = name
    if filters is not None:
        segment.filters = validate_filters(filters)
    session.add(segment)
    session.flush()
    return segment


def duplicate_segment(
    *, session: Session, segment_id: int, clock: Clock, name: str | None = None
) -> Segment:
    """A new segment with the same filters (`name`, default the original's followed by
    " (copy)"); committed as `create_segment` is. Conflict if the name is taken."""
    original = get_segment(session=session, segment_id=segment_id)
    copy_name = (name or f"{original.name} (copy)")[:MAX_NAME]
    return create_segment(session=session, name=copy_name, filters=original.filters, clock=clock)


def delete_segment(*, session: Session, segment_id: int, in_use: Sequence[str]) -> None:
    """Delete a segment; Conflict while `in_use` names campaigns still to send to it."""
    segment = get_segment(session=session, segment_id=segment_id)
    if in_use:
        raise Conflict(
            f"segment {segment_id} is the audience of campaign {', '.join(in_use[:5])}: "
            "cancel or finish them first"
        )
    session.delete(segment)
    session.flush()
