"""Groups in the browser: list with member counts, create, rename, add contacts by phone,
delete; the same use cases as `/api/groups`."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import InvalidInput
from richsms.i18n import N_
from sender.audience.contact_search import MAX_QUERY, list_contacts
from sender.audience.groups import (
    ContactRefs,
    add_members,
    count_members,
    create_group,
    get_group,
    list_groups,
    remove_members,
    rename_group,
)
from sender.audience.selection import delete_unused_group
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page

MEMBERS_PAGE = 50
MAX_PHONES = 10_000  # pasted in one go; larger lists are an import
_SEPARATORS = re.compile(r"[\n,;]+")


def groups(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    notice = request.query_params.get("notice", "")
    return page(view, "groups.html", groups=list_groups(session=db), notice=notice)


def create(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    name = form.get("name", "").strip()
    group = create_group(session=db, name=name, clock=context(request).clock)
    return back_to(f"/ui/groups/{group.id}", N_("Group created."))


def _group_page(request: Request, db: Session, view: Viewer, **extra: Any) -> Response:
    """The group, its members a page at a time (searched by `q`: phone, names, email),
    the same listing as `GET /api/contacts?group=`."""
    group_id = path_id(request, "group")
    group = get_group(session=db, group_id=group_id)
    members = count_members(session=db, group_id=group_id)
    notice = request.query_params.get("notice", "")
    q = request.query_params.get("q", "").strip()[:MAX_QUERY]
    raw = request.query_params.get("after", "0")
    after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    found = list_contacts(
        session=db,
        region=context(request).settings.default_region,
        q=q,
        group_ids=[group_id],
        after=after,
        limit=MEMBERS_PAGE,
    )
    return page(
        view,
        "groups_one.html",
        group=group,
        members=members,
        notice=notice,
        q=q,
        listed=found.contacts,
        next_after=found.next_after,
        **extra,
    )


def group(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    return _group_page(request, db, view)


def rename(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    group_id = path_id(request, "group")
    rename_group(session=db, group_id=group_id, name=form.get("name", "").strip())
    return back_to(f"/ui/groups/{group_id}", N_("Group renamed."))


def add(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    group_id = path_id(request, "group")
    phones = [p.strip() for p in _SEPARATORS.split(form.get("phones", "")) if p.strip()]
    if not phones:
        raise InvalidInput("give the phone numbers to add, one a line")
    if len(phones) > MAX_PHONES:
        raise InvalidInput(f"at most {MAX_PHONES} numbers at once: import a CSV for more")
    ctx = context(request)
    typed = ContactRefs(region=ctx.settings.default_region, phones=phones)
    change = add_members(session=db, group_id=group_id, clock=ctx.clock, contacts=typed)
    result = {
        "added": len(change.changed_ids),
        "already": change.unchanged,
        "unknown": list(change.unknown_phones),
    }
    return _group_page(request, db, view, result=result)


def remove(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    """Take one contact out of the group (the contact stays)."""
    group_id = path_id(request, "group")
    raw = form.get("contact_id", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        raise InvalidInput("choose a contact from the list")
    chosen = ContactRefs(region=context(request).settings.default_region, contact_ids=[int(raw)])
    remove_members(session=db, group_id=group_id, contacts=chosen)
    return back_to(f"/ui/groups/{group_id}", N_("Removed from the group."))


def delete(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    group_id = path_id(request, "group")
    delete_unused_group(session=db, group_id=group_id)
    return back_to("/ui/groups", N_("Group deleted."))
