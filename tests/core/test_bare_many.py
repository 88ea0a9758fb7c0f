"""BareMany: a Core statement run for many rows by the driver itself, each value bound as
SQLAlchemy binds it (aware instants kept exact, constants of the statement honoured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, bindparam, select, update
from sqlmodel import Session, SQLModel, col

from richsms.bare_many import BareMany
from sender.campaigns.planning_writes import RowInsert
from sender.delivery.models import QUEUED, SENT, Message
from tests.clock import FrozenClock
from tests.sender.delivery.test_outbox import add, load

AT = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)

MARK_SENT = BareMany(
    update(Message)
    .where(col(Message.id) == bindparam("b_id"), col(Message.state) == QUEUED)
    .values(state=SENT, sent_at=bindparam("b_at"), provider_id=bindparam("b_pid")),
    ["b_id", "b_at", "b_pid"],
)


def test_rows_are_applied_with_instants_exact_and_the_statement_constants_kept(
    engine: Engine, clock: FrozenClock
) -> None:
    first, second, third = add(engine, clock, 3)
    with engine.begin() as conn:  # the third is no longer queued: the WHERE still holds
        conn.execute(update(Message).where(col(Message.id) == third).values(state="failed"))
    rows = [
        {"b_id": first, "b_at": AT, "b_pid": "A1"},
        {"b_id": second, "b_at": AT + timedelta(seconds=1), "b_pid": "A2"},
        {"b_id": third, "b_at": AT, "b_pid": "A3"},
    ]
    with engine.begin() as conn:
        MARK_SENT.execute(conn, rows)
        MARK_SENT.execute(conn, [])  # nothing to do: no statement
    one, two, three = load(engine, first), load(engine, second), load(engine, third)
    assert (one.state, one.sent_at, one.provider_id) == (SENT, AT, "A1")
    assert (two.state, two.sent_at, two.provider_id) == (SENT, AT + timedelta(seconds=1), "A2")
    assert (three.state, three.provider_id) == ("failed", None)


def test_a_statement_leaving_a_column_to_a_python_default_is_refused(engine: Engine) -> None:
    table = Table(
        "bare_many_defaults",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(10), default=lambda: "made in Python"),
        Column("size", Integer),
    )
    many = BareMany(table.insert().values(size=bindparam("size")), ["size"])
    with engine.begin() as conn, pytest.raises(ValueError, match="every column a value"):
        many.execute(conn, [{"size": 1}])


def test_instants_are_stored_as_sqlalchemy_stores_them_so_equality_finds_them(
    engine: Engine, clock: FrozenClock
) -> None:
    """On SQLite an instant is text: written by the driver's own adapter, a whole second
    lost its ".000000" and no longer equalled the same instant bound by SQLAlchemy."""
    whole_second = AT.replace(microsecond=0)
    (first,) = add(engine, clock)
    with engine.begin() as conn:
        MARK_SENT.execute(conn, [{"b_id": first, "b_at": whole_second, "b_pid": "A1"}])
    with engine.connect() as conn:  # a row as planning writes them: every column
        row = dict(conn.execute(select(Message.__table__)).mappings().one())
    del row["id"]
    row.update(phone="+33610000099", link_id=None, due_at=whole_second, sent_at=None)
    rows = [row]
    insert = RowInsert(SQLModel.metadata.tables["message"], list(rows[0]), engine)
    with Session(engine) as session:
        insert.execute(session, insert.bind(rows))
        session.commit()
    with engine.connect() as conn:
        sent = conn.execute(
            select(col(Message.id)).where(col(Message.sent_at) == whole_second)
        ).scalars()
        due = conn.execute(
            select(col(Message.id)).where(col(Message.due_at) == whole_second)
        ).scalars()
        assert list(sent) == [first]
        assert len(list(due)) == 1
