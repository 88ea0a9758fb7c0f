"""Correcting and erasing a contact in the browser, through the same use cases as
`PATCH` and `DELETE /api/contacts/{id}`: only what the form changed is sent, and erasing
asks for a confirmation first (it cannot be undone)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from richsms.errors import RichsmsError
from richsms.i18n import N_
from sender.audience.contact_edit import ContactChanges, update_contact
from sender.audience.contacts import get_contact
from sender.audience.erasure import erase_contact
from sender.audience.models import Contact
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.render import Viewer, page

TEXTS = ("phone", "first_name", "last_name", "email", "language")
CONSENT_TYPES = (N_("express"), N_("implied"))
FIELD_PREFIX = "field-"


def _values(contact: Contact) -> dict[str, str]:
    values = {name: str(getattr(contact, name) or "") for name in TEXTS}
    values["timezones"] = contact.timezones
    values["consent_type"] = contact.consent_type or ""
    values["consent_source"] = contact.consent_source or ""
    for name, value in (contact.fields or {}).items():
        values[FIELD_PREFIX + name] = "" if value is None else str(value)
    return values


def _changes(contact: Contact, form: dict[str, str]) -> ContactChanges:
    """What the marketer changed: a field left as it was is not sent again."""
    before = _values(contact)
    changes = ContactChanges()
    for name in (*TEXTS, "timezones"):
        value = form.get(name, before[name]).strip()
        if value != before[name]:
            setattr(changes, name, value)
    for key, value in form.items():
        if key.startswith(FIELD_PREFIX) and key in before and value.strip() != before[key]:
            changes.fields[key[len(FIELD_PREFIX) :]] = value.strip() or None
    new_field = form.get("new_field", "").strip()
    if new_field:
        changes.fields[new_field] = form.get("new_value", "").strip()
    consent = form.get("consent_type", "")
    source = form.get("consent_source", "").strip()
    if consent in CONSENT_TYPES and (
        consent != before["consent_type"] or source != before["consent_source"]
    ):
        changes.consent_type = consent
        changes.consent_source = source or "ui"
    if form.get("opted_out") == "on" and contact.status != "opted_out":
        changes.opted_out = True
    return changes


def _edit_page(view: Viewer, contact: Contact, form: dict[str, str], **context: Any) -> Response:
    return page(
        view,
        "contacts_edit.html",
        contact=contact,
        form=form,
        consent_types=CONSENT_TYPES,
        custom=sorted((contact.fields or {}).keys()),
        **context,
    )


def edit_form(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    contact = get_contact(session=db, contact_id=path_id(request, "contact"))
    return _edit_page(view, contact, _values(contact))


def edit(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    contact_id = path_id(request, "contact")
    contact = get_contact(session=db, contact_id=contact_id)
    ctx = context(request)
    try:
        with db.begin_nested():
            update_contact(
                session=db,
                contact_id=contact_id,
                changes=_changes(contact, form),
                region=ctx.settings.default_region,
                clock=ctx.clock,
            )
    except RichsmsError as exc:  # shown beside the form, what was typed kept
        db.expire(contact)
        return _edit_page(view, get_contact(session=db, contact_id=contact_id), form,
                          problem=exc.told(view.gettext))  # fmt: skip
    return back_to(f"/ui/contacts/{contact_id}", N_("Contact saved."))


def erase_form(request: Request, db: Session, view: Viewer, _form: dict[str, str]) -> Response:
    contact = get_contact(session=db, contact_id=path_id(request, "contact"))
    return page(view, "contacts_erase.html", contact=contact)


def erase(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    contact_id = path_id(request, "contact")
    if form.get("confirm") != "erase":  # the confirmation page's button, nothing else
        return back_to(f"/ui/contacts/{contact_id}/erase")
    erase_contact(session=db, contact_id=contact_id, clock=context(request).clock)
    return back_to("/ui/contacts", N_("Contact erased."))
