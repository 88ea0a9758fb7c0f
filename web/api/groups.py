"""Groups API: static lists of contacts, created, listed, renamed, filled and deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.requests import Request

from richsms.types import Id
from sender.audience.groups import (
    add_members,
    count_members,
    create_group,
    get_group,
    list_groups,
    remove_members,
    rename_group,
)
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


class GroupDeletedOut(BaseModel):
    id: int
    deleted: bool = True


_E = (400, 401, 413, 415, 422)
api = RouteTable(tags=("contacts",))


@api.post(
    "/groups",
    "Create a static group of contacts.",
    request=GroupIn,
    response=GroupOut,
    errors=(*_E, 409),
    status=201,
)
def new_group(request: Request, ctx: AppContext, session: Session, body: GroupIn) -> dict[str, Any]:
    group = create_group(session=session, name=body.name, clock=ctx.clock)
    return GroupOut.model_validate(group.model_dump()).model_dump(mode="json")


@api.get(
    "/groups",
    "Every group with its number of members, by name.",
    response=GroupList,
    errors=(401,),
)
def all_groups(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    groups = [
        {**g.group.model_dump(), "members": g.members}
        for g in list_groups(session=session)
    ]
    return GroupList.model_validate({"groups": groups}).model_dump(mode="json")


@api.get(
    "/groups/{group_id:int}",
    "A group and its number of members.",
    response=GroupOut,
    errors=(401, 404),
)
def show_group(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    group_id: int = request.path_params["group_id"]
    group = get_group(session=session, group_id=group_id)
    members = count_members(session=session, group_id=group_id)
    data = {**group.model_dump(), "members": members}
    return GroupOut.model_validate(data).model_dump(mode="json")


@api.patch(
    "/groups/{group_id:int}",
    "Rename a group.",
    request=GroupIn,
    response=GroupOut,
    errors=(*_E, 404, 409),
)
def patch_group(
    request: Request, ctx: AppContext, session: Session, body: GroupIn
) -> dict[str, Any]:
    group_id: int = request.path_params["group_id"]
    group = rename_group(session=session, group_id=group_id, name=body.name)
    members = count_members(session=session, group_id=group_id)
    data = {**group.model_dump(), "members": members}
    return GroupOut.model_validate(data).model_dump(mode="json")


@api.delete(
    "/groups/{group_id:int}",
    "Delete a group and its memberships (the contacts stay); 409 while a campaign to "
    "send or an automation uses it.",
    response=GroupDeletedOut,
    errors=(401, 404, 409),
)
def remove_group(request: Request, ctx: AppContext, session: Session) -> dict[str, Any]:
    group_id: int = request.path_params["group_id"]
    delete_unused_group(session=session, group_id=group_id)
    return GroupDeletedOut(id=group_id).model_dump(mode="json")


@api.post(
    "/groups/{group_id:int}/members",
    "Add contacts to a group by id or phone; unknown ones are listed, not created.",
    request=MembersIn,
    response=MembersOut,
    errors=(*_E, 404),
)
def add_group_members(
    request: Request, ctx: AppContext, session: Session, body: MembersIn
) -> dict[str, Any]:
    group_id: int = request.path_params["group_id"]
    change = add_members(
        session=session,
        group_id=group_id,
        clock=ctx.clock,
        region=ctx.settings.default_region,
        contact_ids=body.contact_ids,
        phones=body.phones,
    )
    return MembersOut(
        added=len(change.changed_ids),
        already_members=change.unchanged,
        unknown_contact_ids=list(change.unknown_contact_ids),
        unknown_phones=list(change.unknown_phones),
    ).model_dump(mode="json")


@api.post(
    "/groups/{group_id:int}/members/remove",
    "Take contacts out of a group by id or phone (the contacts stay).",
    request=MembersIn,
    response=RemovedOut,
    errors=(*_E, 404),
)
def remove_group_members(
    request: Request, ctx: AppContext, session: Session, body: MembersIn
) -> dict[str, Any]:
    group_id: int = request.path_params["group_id"]
    change = remove_members(
        session=session,
        group_id=group_id,
        region=ctx.settings.default_region,
        contact_ids=body.contact_ids,
        phones=body.phones,
    )
    return RemovedOut(
        removed=len(change.changed_ids),
        not_members=change.unchanged,
        unknown_contact_ids=list(change.unknown_contact_ids),
        unknown_phones=list(change.unknown_phones),
    ).model_dump(mode="json")
