"""Erasing a contact (GDPR art. 17, Québec's Law 25, CASL): their personal data removed
everywhere, while what was sent stays counted.

- a contact who had opted out leaves a salted digest of their number on the suppression
  list (sender/audience/suppression.py): added again later, the number is opted out;
- the contact row keeps only its id, as a tombstone (status `erased`: in no audience,
  never messaged, listed or found): its phone, names, email, custom fields, zones and
  consent are erased; its consent history and group memberships are deleted. Keeping the
  id (rather than deleting the row) keeps every count keyed on it right: unique clickers,
  opt-outs, coupons issued; and the id is never given to anyone else;
- messages sent to them (by contact or by phone) keep their campaign, state and times
  (campaign statistics stay right) but lose their phone and text; messages not sent yet
  are skipped;
- inbound messages keep their campaign, keyword and action (reply and opt-out counts stay
  right) but lose their phone and text, and so do the `reply` events queued or delivered
  to webhooks;
- clicks on their links keep their link, time and bot flag but lose their IP, user agent
  and referrer; their visitor hashes are replaced by fresh random ones, one for each, so
  unique-visitor counts stay right too.

Set-based (a few statements whatever the history's length); it flushes and the caller
commits, so an erasure is all or nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import delete, or_, select, update
from sqlmodel import Session, SQLModel

from richsms.clock import Clock
from richsms.events import erase_replies
from richsms.types import AsDict
from sender.audience.contacts import ERASED, OPTED_OUT, get_contact
from sender.audience.suppression import suppress
from sender.delivery.models import PLANNED, QUEUED, SKIPPED

SKIP_REASON: Final = "the contact was erased"


@dataclass(frozen=True, slots=True)
class Erasure(AsDict):
    """How many rows of each kind were erased or anonymized."""

    contact_id: int
    messages: int
    inbound: int
    consent_events: int
    memberships: int
    clicks: int
    webhook_payloads: int


def _count(result: Any) -> int:
    return max(int(result.rowcount or 0), 0)


def erase_contact(*, session: Session, contact_id: int, clock: Clock) -> Erasure:
    """Erase one contact's personal data everywhere (NotFound if there is no such
    contact, or it was erased already). Flushes only."""
    contact = get_contact(session=session, contact_id=contact_id)
    phone = contact.phone
    if contact.status == OPTED_OUT:  # forgotten, but never messaged again unasked
        suppress(session=session, phones=[phone], now=clock.now())
    tables = SQLModel.metadata.tables
    message, inbound = tables["message"], tables["inbound_message"]

    mine = or_(message.c.contact_id == contact_id, message.c.phone == phone)
    session.execute(
        update(message)
        .where(mine, message.c.state.in_((PLANNED, QUEUED)))
        .values(state=SKIPPED, error=SKIP_REASON)
    )
    messages = _count(
        session.execute(update(message).where(mine).values(phone="", text="", timezones=""))
    )
    inbound_rows = _count(
        session.execute(
            update(inbound)
            .where(or_(inbound.c.contact_id == contact_id, inbound.c.phone == phone))
            .values(phone="", text="")
        )
    )
    consent = tables["consent_event"]
    consent_events = _count(
        session.execute(delete(consent).where(consent.c.contact_id == contact_id))
    )
    member = tables["group_member"]
    memberships = _count(session.execute(delete(member).where(member.c.contact_id == contact_id)))
    clicks = _anonymize_clicks(session, contact_id)
    payloads = erase_replies(session=session, contact_id=contact_id)

    contact.phone = f"erased-{contact_id}"  # unique, and never a number anyone has
    contact.first_name = contact.last_name = contact.email = ""
    contact.fields = {}
    contact.timezones = ""
    contact.status = ERASED
    contact.consent_type = contact.consent_source = None
    contact.consent_at = None
    contact.opted_out_at = None
    contact.opted_out_via = None
    contact.updated_at = clock.now()
    session.add(contact)
    session.flush()
    return Erasure(
        contact_id, messages, inbound_rows, consent_events, memberships, clicks, payloads
    )


def _anonymize_clicks(session: Session, contact_id: int) -> int:
    link = SQLModel.metadata.tables.get("link")
    click = SQLModel.metadata.tables.get("click")
    if link is None or click is None:
        return 0
    link_ids = select(link.c.id).where(link.c.contact_id == contact_id).scalar_subquery()
    theirs = or_(click.c.contact_id == contact_id, click.c.link_id.in_(link_ids))
    visitors = list(session.execute(select(click.c.visitor).where(theirs).distinct()).scalars())
    # A fresh random stand-in per visitor: unique visitors are still counted right, and
    # nothing links the stand-in to the person any more.
    for visitor in visitors:
        session.execute(
            update(click)
            .where(theirs, click.c.visitor == visitor)
            .values(visitor=secrets.token_hex(16))
        )
    blank = {name: "" for name in ("ip", "user_agent", "referrer") if name in click.c}
    return _count(session.execute(update(click).where(theirs).values(**blank)))
