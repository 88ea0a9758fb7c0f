"""Groups: static lists of contacts, filled by contact id or by phone number.

A contact is in a group at most once (the primary key is (group, contact)), and adding
someone already there is not an error: lists are pasted in again and again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, func, insert
from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import Conflict, InvalidInput
from sender.audience.contact_store import among
from sender.audience.models import Contact, ContactGroup, GroupMember
from sender.audience.phones import normalize_phone

# Ids or phones per statement, well under every backend's bound-parameter limit.
CHUNK: Final = 2_000
MAX_NAME: Final = 200


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What adding (or removing) members did: `changed_ids` are the contacts added (or
    removed), in the order given, so that automations can welcome those who joined."""

    changed_ids: tuple[int, ...]
    unchanged: int  # already members (when adding) or not members (when removing)
    unknown_contact_ids: tuple[int, ...]
    unknown_phones: tuple[str, ...]  # as given: not a number, or no contact has it

    def as_dict(self) -> dict[str, object]:
        return {
            "changed": len(self.changed_ids),
            "unchanged": self.unchanged,
            "unknown_contact_ids": list(self.unknown_contact_ids),
            "unknown_phones": list(self.unknown_phones),
        }


def create_group(*, session: Session, name: str, clock: Clock) -> ContactGroup:
    """A new, empty group (committed). Conflict if the name is taken."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a group needs a name of 1 to {MAX_NAME} characters")
    if session.exec(select(ContactGroup).where(col(ContactGroup.name) == name)).first():
        raise Conflict(f"a group named {name!r} already exists")
    group = ContactGroup(name=name, created_at=clock.now())
    session.add(group)
    session.commit()
    return group


def get_group(*, session: Session, group_id: int) -> ContactGroup:
    return get_or_not_found(session, ContactGroup, group_id, f"no group with id {group_id}")


@dataclass(frozen=True, slots=True)
class ContactRefs:
    """Contacts named by id and by phone (national numbers read in `region`)."""

    region: str
    contact_ids: Sequence[int] = ()
    phones: Sequence[str] = ()


def add_members(
    *, session: Session, group_id: int, clock: Clock, contacts: ContactRefs
) -> MembershipChange:
    """Add the contacts (by id and by phone), committed.
    Unknown ids and phones are reported, not created: a group never invents contacts."""
    get_group(session=session, group_id=group_id)
    wanted, unknown_ids, unknown_phones = _resolve(session, contacts)
    present = _members_among(session, group_id, wanted)
    added = [i for i in wanted if i not in present]
    now = clock.now()
    for start in range(0, len(added), CHUNK):
        session.execute(
            insert(GroupMember),
            [
                {"group_id": group_id, "contact_id": i, "added_at": now}
                for i in added[start : start + CHUNK]
            ],
        )
    session.commit()
    return MembershipChange(tuple(added), len(present), unknown_ids, unknown_phones)


def remove_members(
    *, session: Session, group_id: int, contacts: ContactRefs
) -> MembershipChange:
    """Take contacts out of the group (committed)."""
    get_group(session=session, group_id=group_id)
    wanted, unknown_ids, unknown_phones = _resolve(session, contacts)
    present = _members_among(session, group_id, wanted)
    removed = [i for i in wanted if i in present]
    for start in range(0, len(removed), CHUNK):
        session.execute(
            delete(GroupMember).where(
                col(GroupMember.group_id) == group_id,
                among(col(GroupMember.contact_id), removed[start : start + CHUNK]),
            )
        )
    session.commit()
    return MembershipChange(tuple(removed), len(wanted) - len(removed), unknown_ids, unknown_phones)


def _resolve(
    session: Session, contacts: ContactRefs
) -> tuple[list[int], tuple[int, ...], tuple[str, ...]]:
    """Distinct contact ids (in the order given) and what could not be resolved."""
    ids = list(dict.fromkeys(contacts.contact_ids))
    known = _existing_ids(session, ids)
    unknown_ids = tuple(i for i in ids if i not in known)

    by_phone: dict[str, str] = {}
    unknown_phones: list[str] = []
    for raw in dict.fromkeys(contacts.phones):
        try:
            by_phone.setdefault(normalize_phone(raw, region=contacts.region, strict=False), raw)
        except InvalidInput:
            unknown_phones.append(raw)
    found: dict[str, int] = {}
    numbers = list(by_phone)
    for start in range(0, len(numbers), CHUNK):
        rows = session.exec(
            select(col(Contact.phone), col(Contact.id)).where(
                among(col(Contact.phone), numbers[start : start + CHUNK])
            )
        )
        found.update({phone: contact_id for phone, contact_id in rows if contact_id is not None})
    unknown_phones.extend(raw for number, raw in by_phone.items() if number not in found)
    ordered = [i for i in ids if i in known] + [found[n] for n in numbers if n in found]
    return list(dict.fromkeys(ordered)), unknown_ids, tuple(unknown_phones)


def _members_among(session: Session, group_id: int, ids: list[int]) -> set[int]:
    present: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        present.update(
            session.exec(
                select(col(GroupMember.contact_id)).where(
                    col(GroupMember.group_id) == group_id,
                    among(col(GroupMember.contact_id), ids[start : start + CHUNK]),
                )
            )
        )
    return present


def _existing_ids(session: Session, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        rows = session.exec(
            select(col(Contact.id)).where(among(col(Contact.id), ids[start : start + CHUNK]))
        )
        found.update(i for i in rows if i is not None)
    return found


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group: ContactGroup
    members: int


def list_groups(*, session: Session) -> list[GroupSummary]:
    """Every group with its number of members, by name."""
    counts = dict(
        session.exec(
            select(col(GroupMember.group_id), func.count()).group_by(col(GroupMember.group_id))
        ).all()
    )
    groups = session.exec(select(ContactGroup).order_by(col(ContactGroup.name)))
    return [GroupSummary(group, counts.get(group.id or 0, 0)) for group in groups]


def count_members(*, session: Session, group_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(GroupMember)
            .where(col(GroupMember.group_id) == group_id)
        ).one()
    )


def rename_group(*, session: Session, group_id: int, name: str) -> ContactGroup:
    """Give a group a new name (flushes). Conflict if another group has it."""
    group = get_group(session=session, group_id=group_id)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a group needs a name of 1 to {MAX_NAME} characters")
    taken = session.exec(
        select(col(ContactGroup.id)).where(
            col(ContactGroup.name) == name, col(ContactGroup.id) != group_id
        )
    ).first()
    if taken is not None:
        raise Conflict(f"a group named {name!r} already exists")
    group.name = name
    session.add(group)
    session.flush()
    return group


def delete_group(*, session: Session, group_id: int, in_use: Sequence[str]) -> None:
    """Delete a group and its memberships (the contacts stay); Conflict while `in_use`
    names campaigns or automations that still need it."""
    group = get_group(session=session, group_id=group_id)
    if in_use:
        raise Conflict(
            f"group {group_id} is used by {', '.join(in_use[:5])}: "
            "cancel or finish them (or delete the automation) first"
        )
    session.execute(delete(GroupMember).where(col(GroupMember.group_id) == group_id))
    session.delete(group)
    session.flush()
