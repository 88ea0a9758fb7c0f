"""Listing and searching contacts, page by page.

Pages are keyset pages in id order (`after` = the last id of the previous page), so
reading page 500 costs what page 1 does and a contact added meanwhile never shifts a page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from richsms.errors import InvalidInput
from sender.audience.contacts import ERASED
from sender.audience.models import Contact
from sender.audience.phones import parse_phone
from sender.audience.selection import audience_condition

MAX_LIMIT: Final = 500
DEFAULT_LIMIT: Final = 50
MAX_QUERY: Final = 200
_NOT_DIGIT: Final = re.compile(r"\D+")


@dataclass(frozen=True, slots=True)
class ContactPage:
    contacts: list[Contact]
    next_after: int | None  # pass as `after` for the next page; None on the last page


def list_contacts(
    *,
    session: Session,
    region: str,
    q: str = "",
    group_ids: Sequence[int] = (),
    segment_ids: Sequence[int] = (),
    after: int = 0,
    limit: int = DEFAULT_LIMIT,
) -> ContactPage:
    """Contacts matching `q` (in the phone, the names or the email, without case), in
    any of the groups / segments given (NotFound for one that does not exist), with an
    id above `after`, `limit` at most, in id order."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    q = q.strip()
    if len(q) > MAX_QUERY:
        raise InvalidInput(f"the search has at most {MAX_QUERY} characters")
    condition: ColumnElement[bool] = col(Contact.status) != ERASED
    if group_ids or segment_ids:
        condition = audience_condition(
            session=session, group_ids=group_ids, segment_ids=segment_ids
        )
    if q:
        condition = and_(condition, _matching(q, region))
    rows = list(
        session.exec(
            select(Contact)
            .where(col(Contact.id) > after, condition)
            .order_by(col(Contact.id))
            .limit(limit)
        )
    )
    last = rows[-1].id if len(rows) == limit else None
    return ContactPage(rows, last)


def _matching(q: str, region: str) -> ColumnElement[bool]:
    needle = q.lower()
    parts: list[ColumnElement[bool]] = [
        col(Contact.first_name).ilike(f"%{_escaped(needle)}%", escape="\\"),
        col(Contact.last_name).ilike(f"%{_escaped(needle)}%", escape="\\"),
        col(Contact.email).ilike(f"%{_escaped(needle)}%", escape="\\"),
    ]
    digits = _NOT_DIGIT.sub("", q)
    if digits:
        try:
            # A whole number as people write it ("06 12 34 56 78"): that contact.
            parts.append(col(Contact.phone) == parse_phone(q, region=region, strict=False).e164)
        except InvalidInput:
            pass
        # Part of a number: its digits, a leading trunk 0 left out ("0612" finds +33612...).
        parts.append(col(Contact.phone).contains(digits.lstrip("0") or digits))
    return or_(*parts)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
