"""Groups API: static lists of contacts, created, listed, renamed, filled and deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from richsms.accounts.roles import Permission
from richsms.types import Id
from sender.audience.groups import (
    ContactRefs,
    MembershipChange,
    add_members,
    count_members,
    create_group,
    get_group,
    list_groups,
    remove_members,
    rename_group,
)
from sender.audience.models import ContactGroup
from sender.audience.selection import delete_unused_group
from web.context import AppContext
from web.openapi import RouteTable


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class GroupOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    members: int = Field(0, description="Contacts in the group.")


class GroupList(BaseModel):
    groups: list[GroupOut]


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_ids: list[Id] = Field(default_factory=list, max_length=1_000_000)
    phones: list[str] = Field(default_factory=list, max_length=1_000_000)


class MembersOut(BaseModel):
    added: int
    already_members: int
    unknown_contact_ids: list[int]
    unknown_phones: list[str]


class RemovedOut(BaseModel):
    removed: int
    not_members: int
    unknown_contact_ids: list[int]
    unknown_phones: list[str]


def _out(group: ContactGroup, members: int) -> GroupOut:
    return GroupOut.model_validate({**group.model_dump(), "members": members})


Answer = tuple[str, str]
"""A members route's names for the contacts changed and those left as they were."""


def _report(change: MembershipChange, done: str, unchanged: str) -> dict[str, Any]:
    """A change of members as both routes answer it, under their own names for the
    contacts changed and left as they were."""
    return {
        done: len(change.changed_ids),
        unchanged: change.unchanged,
        "unknown_contact_ids": list(change.unknown_contact_ids),
        "unknown_phones": list(change.unknown_phones),
    }


api = RouteTable(tags=("contacts",))


@api.post(
    "/groups", "Create a static group of contacts.", errors=(409,), status=201,
    needs=Permission.AUDIENCE,
)
def new_group(ctx: AppContext, session: Session, body: GroupIn) -> GroupOut:
    return _out(create_group(session=session, name=body.name, clock=ctx.clock), 0)


@api.get("/groups", "Every group with its number of members, by name.", needs=Permission.AUDIENCE)
def all_groups(session: Session) -> GroupList:
    return GroupList(groups=[_out(g.group, g.members) for g in list_groups(session=session)])


@api.get("/groups/{group_id:int}", "A group and its number of members.", needs=Permission.AUDIENCE)
def show_group(session: Session, group_id: int) -> GroupOut:
    group = get_group(session=session, group_id=group_id)
    return _out(group, count_members(session=session, group_id=group_id))


@api.patch("/groups/{group_id:int}", "Rename a group.", errors=(409,), needs=Permission.AUDIENCE)
def patch_group(session: Session, body: GroupIn, group_id: int) -> GroupOut:
    group = rename_group(session=session, group_id=group_id, name=body.name)
    return _out(group, count_members(session=session, group_id=group_id))


api.deletion(
    "/groups/{group_id:int}",
    "Delete a group and its memberships (the contacts stay); 409 while a campaign to "
    "send or an automation uses it.",
    delete_unused_group,
    "GroupDeletedOut",
    errors=(409,), needs=Permission.AUDIENCE,
)


ChangeMembers = Callable[[AppContext, Session, int, MembersIn], MembershipChange]


def _refs(ctx: AppContext, body: MembersIn) -> ContactRefs:
    """The contacts a members route names (national numbers read in the default region)."""
    return ContactRefs(ctx.settings.default_region, body.contact_ids, body.phones)


def _members_route(
    path: str, summary: str, response: type[BaseModel], change: ChangeMembers, answer: Answer
) -> None:
    """Declares `POST path`: `change` the group's members, answered with the contacts
    changed and left as they were under the route's own names (`answer`)."""

    def change_members(
        ctx: AppContext, session: Session, body: MembersIn, group_id: int
    ) -> dict[str, Any]:
        return _report(change(ctx, session, group_id, body), *answer)

    api.post(path, summary, response=response, needs=Permission.AUDIENCE)(change_members)


_members_route(
    "/groups/{group_id:int}/members",
    "Add contacts to a group by id or phone; unknown ones are listed, not created.",
    MembersOut,
    lambda ctx, session, group_id, body: add_members(
        session=session, group_id=group_id, clock=ctx.clock, contacts=_refs(ctx, body)
    ),
    ("added", "already_members"),
)
_members_route(
    "/groups/{group_id:int}/members/remove",
    "Take contacts out of a group by id or phone (the contacts stay).",
    RemovedOut,
    lambda ctx, session, group_id, body: remove_members(
        session=session, group_id=group_id, contacts=_refs(ctx, body)
    ),
    ("removed", "not_members"),
)
