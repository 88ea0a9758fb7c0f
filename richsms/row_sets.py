"""Many rows as one statement on PostgreSQL: each column's values in one array, the
arrays `unnest`ed into a table the statement reads (`UPDATE … FROM`, `INSERT … SELECT`).

One execution and one plan for a batch, where `executemany` (richsms/bare_many.py) runs
the statement once per row: the driver binds each row in Python and the server executes
each, a few tens of µs a row either side. The sending worker records every answer of a
batch this way on PostgreSQL; SQLite, in process, keeps `executemany`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
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
