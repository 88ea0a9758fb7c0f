"""The custom fields contacts have: what templates may name.

Kept in a small table, current with every import and contact edit, so that checking a
template reads a few rows instead of every contact's JSON. Bounded in count and in name
length: every custom field is carried by every contact and read by every send, so a file
with 200,000 columns is refused instead of making every later send slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from richsms.errors import InvalidInput
from sender.audience.models import CustomField

MAX_CUSTOM_FIELDS: Final = 200
MAX_CUSTOM_FIELD_NAME: Final = 64


def known_fields(session: Session) -> frozenset[str]:
    """Every custom field some contact has (or had)."""
    return frozenset(session.execute(select(col(CustomField.name))).scalars())


def record_custom_fields(*, session: Session, names: Iterable[str]) -> None:
    """Make `names` known; InvalidInput if a name is too long or there would be too many.
    Flushes only: the caller's unit of work commits (or rolls back) with the contacts."""
    wanted = set(names)
    if not wanted:
        return
    for name in wanted:
        if not name or len(name) > MAX_CUSTOM_FIELD_NAME:
            raise InvalidInput(
                f"custom field names are 1 to {MAX_CUSTOM_FIELD_NAME} characters: "
                f"{name[:MAX_CUSTOM_FIELD_NAME]!r}… is too long"
                if name
                else "a custom field needs a name",
                code="custom_field_name",
            )
    new = sorted(wanted - known_fields(session))
    if not new:
        return
    count = session.execute(select(func.count()).select_from(CustomField)).scalar_one()
    if count + len(new) > MAX_CUSTOM_FIELDS:
        raise InvalidInput(
            f"at most {MAX_CUSTOM_FIELDS} custom fields are kept ({count} exist already); "
            f"these {len(new)} would pass the limit: {', '.join(new[:5])}"
            + ("…" if len(new) > 5 else ""),
            code="too_many_custom_fields",
        )
    rows = [{"name": name} for name in new]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(pg_insert(CustomField).values(rows).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(CustomField).values(rows).on_conflict_do_nothing())
    else:
        session.execute(insert(CustomField), rows)
    session.flush()
