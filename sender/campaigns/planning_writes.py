"""Writing a planning batch's rows: a bare `executemany` per table, each column's values
bound as SQLAlchemy binds them; and a page campaign's coupons, assigned set-based."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Table
from sqlmodel import Session

from landing_templates.coupons import CouponSlot, assign_coupons_bulk
from richsms.bare_many import BareMany
from richsms.clock import Clock
from sender.campaigns.ab.planner import AbPlanner
from sender.campaigns.planner import BatchPlanner, PlannedBatch


class RowInsert:
    """A bare `executemany` of rows (dicts with the same keys) into one table, bound
    before the transaction opens (richsms/bare_many). The ORM's bulk insert spent most
    of a batch's write time binding. On PostgreSQL the bound rows are streamed by COPY:
    executemany runs one INSERT per row, and a batch of 5,000 messages and their links
    held its transaction ~340 ms on a slow machine (110 ms of it our CPU)."""

    def __init__(self, table: Table, columns: list[str], engine: Engine) -> None:
        self._many = BareMany.insert(table, columns)
        self._dialect = engine.dialect
        self._columns = columns
        quote = engine.dialect.identifier_preparer.quote
        self._copy = (
            f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        )

    def bind(self, rows: list[dict[str, Any]]) -> list[Any]:
        """The rows as the driver takes them: done before the transaction opens."""
        return self._many.bind(self._dialect, rows)

    def execute(self, session: Session, values: list[Any]) -> None:
        if not values:
            return
        conn = session.connection()
        if conn.dialect.name != "postgresql":
            self._many.execute_bound(conn, values)
            return
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(self._copy) as copy:
                for row in values:  # bound by name (pyformat), named after the columns
                    copy.write_row([row[c] for c in self._columns])
        finally:
            cursor.close()


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


def assign_batch_coupons(
    *, session: Session, clock: Clock, planner: BatchPlanner | AbPlanner, batch: PlannedBatch
) -> dict[int, str]:
    """Every coupon the batch's recipients see on their page, assigned in the batch's
    transaction (flushes only); contact id → reason for those a pool could not serve."""
    unserved: dict[int, str] = {}
    for page in planner.pages.values():
        contacts = batch.served(page.page_id) if page.coupons else []
        for block_id, (spec, shortage) in page.coupons.items():
            wanted = [c for c in contacts if c not in unserved]
            if not wanted:
                break
            slot = CouponSlot(
                page.page_id, block_id, spec.source, spec.pattern, spec.pool_id,
                planner.campaign_id,
            )  # fmt: skip
            assigned = assign_coupons_bulk(
                session=session, clock=clock, slot=slot, contact_ids=wanted
            )
            for contact in assigned.unserved:
                unserved[contact] = shortage
    return unserved
