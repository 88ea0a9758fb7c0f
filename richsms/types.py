"""Types shared by every package: column types for tables, bounded types for API models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from pydantic import AfterValidator, Field, Strict
from sqlalchemy import JSON, Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def json_column() -> Any:
    """A required JSON column (a list or mapping stored whole); a new Column each call,
    as a table may not share one."""
    return Column(JSON, nullable=False)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store UTC naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; richsms stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite an instant is text. SQLAlchemy spells and reads it in Python (string
    # formatting, a regular expression): about 10 µs each way, several times for each
    # message sent. The same spelling, "2026-12-01 12:00:00.000000", by the C methods.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def spell(value: datetime | None) -> str | None:
            naive_utc = self.process_bind_param(value, dialect)
            return None if naive_utc is None else naive_utc.isoformat(" ", "microseconds")

        return spell

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def read(value: str | None) -> datetime | None:
            if value is None:
                return None
            return datetime.fromisoformat(value).replace(tzinfo=UTC)

        return read


# Bounds of what the database stores. Ids are `INTEGER` columns (32 bits on PostgreSQL);
# counters that may grow past that use `BIGINT`. A value outside them is refused at the
# edge with a 4xx rather than left for the database to reject with a 500.
ID_MAX = 2**31 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Datetimes are stored in UTC; Python's own range (years 1–9999) is the tighter bound.
DATETIME_MIN = datetime(1, 1, 2, tzinfo=UTC)
DATETIME_MAX = datetime(9999, 12, 30, tzinfo=UTC)


def storable_datetime(value: datetime) -> datetime:
    """`value` in UTC, or ValueError when it has no zone or falls outside what is stored."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time zone (e.g. 2026-12-31T23:59:00Z or +01:00)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date is outside the range richsms stores (years 1 to 9999)") from None
    if not DATETIME_MIN <= utc <= DATETIME_MAX:
        raise ValueError("the date is outside the range richsms stores (years 1 to 9999)")
    return utc


# Pydantic types the API models share, so that every route gets the same bounds.
Id = Annotated[int, Strict(), Field(ge=1, le=ID_MAX)]
"""A row id: a JSON integer from 1 to 2**31 - 1 (strict: `false`, `1.0` or `"1"` are no id)."""
Flag = Annotated[bool, Strict()]
"""A JSON `true` or `false`: `0`, `1` or `"yes"` are no answer to a yes-or-no question."""
Int32 = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
Int64 = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX)]
UtcDatetime = Annotated[datetime, AfterValidator(storable_datetime)]
"""An aware datetime the database can store, converted to UTC."""


class AsDict:
    """A dataclass whose JSON form is its fields (`as_dict`, nested dataclasses as dicts)."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(cast(Any, self))
