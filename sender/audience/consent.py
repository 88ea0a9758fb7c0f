"""The one rule that decides whether a message may go to a contact now.

Applied when a message is planned and again at the moment a worker hands it to the
provider (the contact is re-read in the claim transaction), so that an opt-out or a
withdrawn consent between the two is honoured.

- Promotional messages: only to subscribed contacts with consent (`express` or
  `implied`).
- Informational messages: only to subscribed contacts.
- Administrative messages (opt-out and opt-in confirmations, help replies, service
  notices): to every contact, opted out or not. This is how the inbound keyword handler
  confirms an opt-out: it enqueues its reply as `type="administrative"`.
- Test messages (`is_test`) go to a phone the marketer typed, not to a contact: no rule
  applies (see `message_refusal`).

A status other than `subscribed` counts as opted out: when in doubt, nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, String, case, cast, null, or_, select
from sqlmodel import col

from sender.audience.models import Contact

SUBSCRIBED: Final = "subscribed"
OPTED_OUT: Final = "opted_out"
CONSENT_TYPES: Final = ("express", "implied")


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One reason a contact gets no message of some types, said twice side by side: for
    one contact in memory (`applies`) and for every contact at once in SQL (`where`), so
    that planning, the moment of sending and a send's summary apply the same rule.
    `tests/sender/audience/test_consent.py` holds the two to agreement."""

    code: str
    reason: str
    types: frozenset[str]
    applies: Callable[[str, str | None], bool]
    where: Callable[[], ColumnElement[bool]]


# In order: a contact is excluded for the first that applies.
EXCLUSIONS: Final = (
    Exclusion(
        "opted_out",
        "the contact opted out",
        frozenset({"promotional", "informational"}),
        lambda status, _consent: status != SUBSCRIBED,
        lambda: col(Contact.status) != SUBSCRIBED,
    ),
    Exclusion(
        "no_consent",
        "no consent to promotional messages (express or implied) is recorded",
        frozenset({"promotional"}),
        lambda _status, consent: consent not in CONSENT_TYPES,
        lambda: or_(
            col(Contact.consent_type).is_(None), col(Contact.consent_type).not_in(CONSENT_TYPES)
        ),
    ),
)


def refusal(status: str, consent_type: str | None, type: str) -> str | None:
    """Why a message of `type` may not go to a contact in this state, or None if it may."""
    for exclusion in EXCLUSIONS:
        if type in exclusion.types and exclusion.applies(status, consent_type):
            return exclusion.reason
    return None


def exclusion_code(type: str) -> ColumnElement[Any]:
    """SQL over `contact`: the code of the exclusion that keeps a message of `type` from
    the contact (the first that applies, as `refusal`), NULL when it may go."""
    whens = [(e.where(), e.code) for e in EXCLUSIONS if type in e.types]
    if not whens:  # typed: PostgreSQL refuses a bare NULL in a GROUP BY
        return cast(null(), String())
    return case(*whens, else_=null())


def message_refusal(
    *, type: str, is_test: bool, contact: tuple[str, str | None] | None, known: bool
) -> str | None:
    """The rule at the moment of sending, for one outbox message.

    `contact` is the (status, consent_type) of its recipient, None if no contact has that
    phone; `known` says whether the message named a contact (a contact deleted since it
    was planned gets nothing but administrative messages).
    """
    if is_test:
        return None
    if contact is None:
        if known:
            return "the contact no longer exists" if type != "administrative" else None
        if type == "promotional":
            return "no contact, so no consent, for this phone"
        return None
    return refusal(contact[0], contact[1], type)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A contact as it is at the moment of sending."""

    status: str
    consent_type: str | None
    timezones: str


def current_recipients(
    conn: Connection, *, contact_ids: Iterable[int], phones: Iterable[str]
) -> tuple[dict[int, Recipient], dict[str, Recipient]]:
    """Contacts re-read in the caller's transaction: by id, and by phone for messages that
    name no contact (a phone that belongs to an opted-out contact still gets nothing)."""
    columns = (
        col(Contact.id),
        col(Contact.phone),
        col(Contact.status),
        col(Contact.consent_type),
        col(Contact.timezones),
    )
    by_id: dict[int, Recipient] = {}
    by_phone: dict[str, Recipient] = {}
    ids, numbers = sorted(set(contact_ids)), sorted(set(phones))
    if ids:
        for cid, _, status, consent, zones in conn.execute(
            select(*columns).where(col(Contact.id).in_(ids))
        ):
            if cid is not None:
                by_id[cid] = Recipient(status, consent, zones)
    if numbers:
        for _, phone, status, consent, zones in conn.execute(
            select(*columns).where(col(Contact.phone).in_(numbers))
        ):
            by_phone[phone] = Recipient(status, consent, zones)
    return by_id, by_phone
