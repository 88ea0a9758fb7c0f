"""Writing a planning batch's rows: a bare `executemany` per table, each column's values
bound as SQLAlchemy binds them; and a page campaign's coupons, assigned set-based."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, Table
from sqlmodel import Session

from landing_templates.coupon_bulk import assign_coupons_bulk
from richsms.clock import Clock
from sender.planner import BatchPlanner, PlannedBatch


class RowInsert:
    """A bare `executemany` of rows (dicts with the same keys) into one table: each
    column's values bound as SQLAlchemy would, repeated values (the batch's instants)
    bound once. The ORM's bulk insert spent most of a batch's write time on that."""

    def __init__(self, table: Table, columns: list[str], engine: Engine) -> None:
        dialect = engine.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.columns = columns
        names = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
        self.sql = (
            f"INSERT INTO {dialect.identifier_preparer.quote(table.name)} ({names}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        self.pick = itemgetter(*columns)
        # Only some columns (instants, booleans) need binding: those, by position.
        self.binders: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(columns):
            # The dialect's processor (the generic type's would leave SQLite's instants
            # to the driver, which drops zero microseconds: not how SQLAlchemy stores them).
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binders.append((index, _remembering(process)))

    def bind(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The rows as the driver takes them: done before the transaction opens."""
        pick, binders = self.pick, self.binders
        values = []
        for row in rows:
            value = list(pick(row))
            for index, bind in binders:
                value[index] = bind(value[index])
            values.append(tuple(value))
        return values

    def execute(self, session: Session, values: list[tuple[Any, ...]]) -> None:
        if values:
            session.connection().exec_driver_sql(self.sql, values)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is read and computed: its rows are
    freed by reference counting, and the collections their many small objects triggered
    (each scanning every live object) took a fifth of planning's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _remembering(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
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


def assign_batch_coupons(
    *, session: Session, clock: Clock, planner: BatchPlanner, batch: PlannedBatch
) -> dict[int, str]:
    """Every coupon the batch's recipients see on their page, assigned in the batch's
    transaction (flushes only); contact id → reason for those a pool could not serve."""
    if not planner.coupons or planner.page_id is None:
        return {}
    contacts = batch.served()
    unserved: dict[int, str] = {}
    for block_id, (spec, shortage) in planner.coupons.items():
        wanted = [c for c in contacts if c not in unserved]
        if not wanted:
            break
        assigned = assign_coupons_bulk(
            session=session,
            clock=clock,
            page_id=planner.page_id,
            block_id=block_id,
            contact_ids=wanted,
            source=spec.source,
            pattern=spec.pattern,
            pool_id=spec.pool_id,
            campaign_id=planner.campaign_id,
        )
        for contact in assigned.unserved:
            unserved[contact] = shortage
    return unserved
