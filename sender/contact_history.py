"""Everything that happened with one contact: consent, messages sent, messages received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel import Session, col, select

from sender.contacts import consent_history, get_contact
from sender.models import ConsentEvent, Contact, InboundMessage, Message

# Each state a message reached, and the column holding when.
STATE_TIMES: Final = (
    ("planned", "planned_at"),
    ("queued", "queued_at"),
    ("sending", "sending_at"),
    ("sent", "sent_at"),
    ("delivered", "delivered_at"),
    ("failed", "failed_at"),
    ("expired", "expired_at"),
    ("unknown", "unknown_at"),
)


@dataclass(frozen=True, slots=True)
class ContactHistory:
    contact: Contact
    consents: list[ConsentEvent]
    messages: list[Message]
    inbound: list[InboundMessage]


def contact_history(*, session: Session, contact_id: int) -> ContactHistory:
    """The contact (NotFound if none), its consent events, every message sent to it and
    every message received from it, each oldest first."""
    contact = get_contact(session=session, contact_id=contact_id)
    messages = session.exec(
        select(Message).where(col(Message.contact_id) == contact_id).order_by(col(Message.id))
    )
    inbound = session.exec(
        select(InboundMessage)
        .where(col(InboundMessage.contact_id) == contact_id)
        .order_by(col(InboundMessage.id))
    )
    return ContactHistory(
        contact=contact,
        consents=consent_history(session=session, contact_id=contact_id),
        messages=list(messages),
        inbound=list(inbound),
    )


def state_times(message: Message) -> dict[str, datetime]:
    """When the message reached each state it reached."""
    times: dict[str, datetime] = {}
    for state, attribute in STATE_TIMES:
        moment = getattr(message, attribute)
        if moment is not None:
            times[state] = moment
    return times
