"""One Core statement run for many rows by the driver's own `executemany`.

SQLAlchemy's executemany rebuilds a parameter dictionary and runs every bind processor
for each row in Python: about 20 µs a row, more than SQLite takes to apply the row. The
sending worker runs a few such statements for every message it sends (the answer, the
parts, the receipt) and planning one insert per table for every batch, so `BareMany`
compiles its statement once per dialect and hands the driver ready rows: each value
bound as SQLAlchemy would bind it (the same processors; a value repeated across rows,
such as a batch's instants, bound once), constants of the statement bound once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Binder = Callable[[Any], Any]


class _Compiled:
    def __init__(
        self, statement: ClauseElement, dialect: Dialect, names: Sequence[str], columns: bool
    ) -> None:
        # `columns`: an INSERT of exactly these columns, its binds named after them.
        keys = list(names) if columns else None
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Python-side defaults are computed per execution by SQLAlchemy, not here.
            raise ValueError("BareMany statements must give every column a value")
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        order = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        # (name, row key or None for a constant, its processor, the constant's bound value)
        self.slots: list[tuple[str, str | None, Binder | None, Any]] = []
        for name in order:
            bind = compiled.binds[name]
            # The dialect's own processor: the generic type's would leave SQLite's
            # instants to the driver's adapter, which spells them differently.
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.key in names:
                self.slots.append((name, bind.key, process and _remembering(process), None))
            else:
                value = bind.effective_value
                self.slots.append((name, None, None, process(value) if process else value))
        self.names = [name for name, _, _, _ in self.slots]

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        out: list[Any] = []
        slots = self.slots
        for row in rows:
            values = [
                constant if key is None else (process(row[key]) if process else row[key])
                for _, key, process, constant in slots
            ]
            out.append(
                tuple(values) if self.positional else dict(zip(self.names, values, strict=True))
            )
        return out


class BareMany:
    """`statement` (its per-row values as `bindparam(name)` for each of `names`; or a
    function of the dialect giving it), run by `execute(conn, rows)` with one mapping of
    those names per row. `bind` and `execute_bound` split the two halves, so that rows
    can be bound before a transaction opens."""

    def __init__(
        self,
        statement: ClauseElement | Callable[[Dialect], ClauseElement],
        names: Sequence[str],
        *,
        columns: bool = False,
    ) -> None:
        self.statement = statement
        self.names = tuple(names)
        self._columns = columns
        self._by_dialect: dict[str, _Compiled] = {}

    @classmethod
    def insert(cls, table: Table, columns: Sequence[str]) -> BareMany:
        """An INSERT of `columns` into `table`, rows keyed by column name."""
        return cls(insert(table), columns, columns=True)

    def bind(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The rows as the driver takes them."""
        return self._compiled(dialect).rows(rows)

    def execute_bound(self, conn: Connection, values: list[Any]) -> None:
        if values:
            conn.exec_driver_sql(self._compiled(conn.dialect).sql, values)

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.execute_bound(conn, self.bind(conn.dialect, rows))

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            statement = self.statement
            if not isinstance(statement, ClauseElement):
                statement = statement(dialect)
            compiled = _Compiled(statement, dialect, self.names, self._columns)
            self._by_dialect[dialect.name] = compiled
        return compiled


def _remembering(process: Binder) -> Binder:
    """`process`, remembering the last values it bound (a batch repeats its instants)."""
    seen: dict[Any, Any] = {}
    none = process(None)

    def bind(value: Any) -> Any:
        if value is None:
            return none
        try:
            return seen[value]
        except KeyError:
            if len(seen) > 10_000:
                seen.clear()
            bound = seen[value] = process(value)
            return bound
        except TypeError:  # unhashable
            return process(value)

    return bind
