"""Many rows as one statement on PostgreSQL: each column's values in one array, the
arrays `unnest`ed into a table the statement reads (`UPDATE … FROM`, `INSERT … SELECT`).

One execution and one plan for a batch, where `executemany` (richsms/bare_many.py) runs
the statement once per row: the driver binds each row in Python and the server executes
each, a few tens of µs a row either side. The sending worker records every answer of a
batch this way on PostgreSQL; SQLite, in process, keeps `executemany`. Likewise a list
of values a statement looks for (`one_of`) is one array there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, any_, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeEngine


class RowSet:
    """A table of rows given as arrays: `RowSet(id=BigInteger(), at=UTCDateTime())`;
    a statement reads its columns (`c.id`), `params(rows)` binds them (rows are
    mappings of the same names)."""

    def __init__(self, **columns: TypeEngine[Any]) -> None:
        self.names = tuple(columns)
        arrays = [bindparam(f"rs_{name}", type_=ARRAY(kind)) for name, kind in columns.items()]
        self.table = (
            func.unnest(*arrays).table_valued(*self.names).render_derived(with_types=False)
        )

    @property
    def c(self) -> Any:
        return self.table.c

    def params(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        return {f"rs_{name}": [row[name] for row in rows] for name in self.names}


class OneOf(ColumnElement[bool]):
    """`column IN (…)` over a list bound when the statement runs (`one_of`)."""

    inherit_cache = True
    _traverse_internals = [
        ("listed", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()
    _is_implicitly_boolean = True  # a condition, not a boolean column (no "= 1")

    def __init__(self, column: ColumnElement[Any], name: str, kind: TypeEngine[Any]) -> None:
        self.listed = column.in_(bindparam(name, expanding=True, type_=kind))
        self.array = column == any_(bindparam(name, type_=ARRAY(kind)))


def one_of(column: Any, name: str, kind: TypeEngine[Any]) -> OneOf:
    """`column` is one of the values bound as `name` (a list of `kind`). On PostgreSQL,
    `column = ANY(:name)`: one array parameter, so the statement's text is the same for
    every list and the driver parses and prepares it once, where an IN list spells one
    parameter per value, a new text for every length (psycopg then splits and converts
    each anew: a tenth of the sending worker's time, bench/smpp). Elsewhere an IN list."""
    return OneOf(column, name, kind)


@compiles(OneOf)
def _listed(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.listed, **kw)


@compiles(OneOf, "postgresql")
def _array(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.array, **kw)
