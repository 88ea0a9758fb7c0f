from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from richsms.errors import Conflict, InvalidInput, NotFound
from sender.audience.contacts import create_contact
from sender.audience.groups import ContactRefs, add_members, create_group, remove_members
from sender.audience.models import GroupMember
from tests.clock import FrozenClock


def test_members_by_id_and_by_phone_each_once(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        lea = create_contact(session=session, phone="0612345678", clock=clock, region="FR")
        bob = create_contact(session=session, phone="+447911123456", clock=clock, region="FR")
        session.commit()
        group = create_group(session=session, name=" VIP ", clock=clock)
        assert group.name == "VIP"
        gid = group.id or 0
        change = add_members(
            session=session,
            group_id=gid,
            clock=clock,
            contacts=ContactRefs(
                region="FR",
                contact_ids=[lea.id or 0, lea.id or 0, 999],
                phones=["06 12 34 56 78", "00447911123456", "0700000001", "not a phone"],
            ),
        )
        assert change.changed_ids == (lea.id, bob.id)
        assert change.unknown_contact_ids == (999,)
        assert change.unknown_phones == ("not a phone", "0700000001")
        bob_only = ContactRefs(region="FR", contact_ids=[bob.id or 0])
        again = add_members(session=session, group_id=gid, clock=clock, contacts=bob_only)
        assert (again.changed_ids, again.unchanged) == ((), 1)
        count = select(func.count()).select_from(GroupMember)
        assert session.exec(count).one() == 2

        lea_by_phone = ContactRefs(region="FR", phones=["+33612345678"])
        removed = remove_members(session=session, group_id=gid, contacts=lea_by_phone)
        assert removed.changed_ids == (lea.id,)
        members = session.exec(select(col(GroupMember.contact_id))).all()
        assert members == [bob.id]


def test_group_names_and_unknown_groups(engine: Engine, clock: FrozenClock) -> None:
    with Session(engine) as session:
        create_group(session=session, name="VIP", clock=clock)
        with pytest.raises(Conflict, match="'VIP' already exists"):
            create_group(session=session, name="VIP", clock=clock)
        with pytest.raises(InvalidInput):
            create_group(session=session, name="  ", clock=clock)
        with pytest.raises(NotFound, match="no group with id 42"):
            one = ContactRefs(region="FR", contact_ids=[1])
            add_members(session=session, group_id=42, clock=clock, contacts=one)
