"""Who a campaign reaches: groups and segments together, each contact once, streamed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from richsms.errors import NotFound
from sender.audience.contacts import create_contact, opt_out
from sender.audience.groups import ContactRefs, add_members, create_group
from sender.audience.models import Contact
from sender.audience.segments import create_segment
from sender.audience.selection import audience_ids, count_audience, iter_audience
from tests.clock import FrozenClock


@pytest.fixture
def session(engine: Engine, clock: FrozenClock) -> Iterator[Session]:
    """Seven contacts: 0-4 in Paris, 3-6 in group A, 2-4 in group B, 6 opted out."""
    with Session(engine) as session:
        contacts = [
            create_contact(
                session=session,
                phone=f"+3361234567{n}",
                clock=clock,
                region="FR",
                first_name=f"C{n}",
                fields={"city": "Paris" if n < 5 else "Lyon"},
            )
            for n in range(7)
        ]
        opt_out(session=session, contact=contacts[6], via="api", clock=clock)
        session.commit()
        for name, members in (("A", range(3, 7)), ("B", range(2, 5))):
            group = create_group(session=session, name=name, clock=clock)
            add_members(
                session=session,
                group_id=group.id or 0,
                clock=clock,
                contacts=ContactRefs(
                    region="FR", contact_ids=[contacts[n].id or 0 for n in members]
                ),
            )
        create_segment(
            session=session,
            name="Paris",
            filters=[{"field": "fields.city", "op": "eq", "value": "Paris"}],
            clock=clock,
        )
        yield session


def names(rows: Iterator[tuple[object, dict[str, object]]]) -> list[object]:
    return [fields["first_name"] for _, fields in rows]


def test_a_contact_in_several_groups_is_there_once(session: Session) -> None:
    audience = iter_audience(session=session, group_ids=[1, 2, 1], segment_ids=[])
    assert names(audience) == ["C2", "C3", "C4", "C5", "C6"]
    assert count_audience(session=session, group_ids=[1, 2], segment_ids=[]) == 5


def test_groups_and_segments_together(session: Session) -> None:
    # Paris is C0-C4; group A adds C5 and C6; nobody twice.
    everyone = ["C0", "C1", "C2", "C3", "C4", "C5", "C6"]
    assert names(iter_audience(session=session, group_ids=[1], segment_ids=[1])) == everyone
    assert count_audience(session=session, group_ids=[1], segment_ids=[1]) == 7
    assert count_audience(session=session, group_ids=[], segment_ids=[1]) == 5
    subscribed = count_audience(
        session=session, group_ids=[1], segment_ids=[1], subscribed_only=True
    )
    assert subscribed == 6


def test_streaming_pages_by_id_gives_rows_and_merge_fields(session: Session) -> None:
    rows = list(iter_audience(session=session, group_ids=[1], segment_ids=[1], batch_size=2))
    assert [row.id for row, _ in rows] == sorted(row.id for row, _ in rows)
    assert len(rows) == 7
    row, fields = rows[6]
    assert (row.phone, row.status, row.language) == ("+33612345676", "opted_out", "fr")
    assert fields == {
        "city": "Lyon",
        "first_name": "C6",
        "last_name": "",
        "phone": "+33612345676",
        "email": "",
        "language": "fr",
        "timezone": "Europe/Paris",
    }


def test_audience_ids_is_a_select_to_build_on(session: Session) -> None:
    ids = audience_ids(session=session, group_ids=[2], segment_ids=[])
    assert list(session.exec(ids)) == [3, 4, 5]
    names_in = select(col(Contact.first_name)).where(col(Contact.id).in_(ids))
    assert sorted(session.exec(names_in)) == ["C2", "C3", "C4"]


def test_an_empty_audience(session: Session) -> None:
    assert list(iter_audience(session=session, group_ids=[], segment_ids=[])) == []
    assert count_audience(session=session, group_ids=[], segment_ids=[]) == 0


def test_unknown_groups_and_segments_are_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="no group with id 9"):
        iter_audience(session=session, group_ids=[1, 9], segment_ids=[])
    with pytest.raises(NotFound, match="no segment with id 9"):
        count_audience(session=session, group_ids=[], segment_ids=[9])
    with pytest.raises(NotFound, match="no segment with id 9"):
        audience_ids(session=session, group_ids=[], segment_ids=[9])
