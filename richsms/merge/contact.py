"""The contact side of the merge-field contract: which columns a recipient's merge
fields come from, and how they become the fields a template reads.

SMS (sender) and pages (landing_templates) both render a contact's fields; neither may
import the other's internals, so what they share lives here, in the core: the columns of
the `contact` table that merge fields are read from (a Core table clause, not the
model), and `contact_fields`, the one mapping from a row to the fields.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import JSON, Integer, String, column, table

# The contact table as merge fields need it (sender.delivery.models.Contact owns the table).
CONTACT_SOURCE = table(
    "contact",
    column("id", Integer),
    column("first_name", String),
    column("last_name", String),
    column("phone", String),
    column("email", String),
    column("language", String),
    column("timezones", String),
    column("fields", JSON),
)


class ContactLike(Protocol):
    """What merge fields are read from: a Contact, or a Core row of its columns."""

    @property
    def phone(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def timezones(self) -> str: ...
    @property
    def fields(self) -> dict[str, Any]: ...


def contact_fields(contact: ContactLike) -> dict[str, object]:
    """The merge fields templates see: every custom field, then the standard ones (which
    win over a custom field of the same name); `timezone` is the contact's first zone."""
    merged: dict[str, object] = dict(contact.fields or {})
    merged["first_name"] = contact.first_name
    merged["last_name"] = contact.last_name
    merged["phone"] = contact.phone
    merged["email"] = contact.email
    merged["language"] = contact.language or ""
    merged["timezone"] = (contact.timezones or "").split(" ", 1)[0]
    return merged
