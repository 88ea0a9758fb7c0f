"""Everything that happened with one contact: consent, messages sent, messages received."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from landing_templates.coupons.models import Coupon
from sender.audience.contacts import consent_history, get_contact
from sender.audience.models import ConsentEvent, Contact
from sender.delivery.models import InboundMessage, Message
from shortener.models import Click, Link

MAX_CLICKS = 1_000  # the newest are the story; a contact tapping more is a bot or a test

# Each state a message reached, and the column holding when.
STATE_TIMES: Final = (
    ("planned", "planned_at"),
    ("queued", "queued_at"),
    ("sending", "sending_at"),
    ("sent", "sent_at"),
    ("delivered", "delivered_at"),
    ("undelivered", "undelivered_at"),
    ("failed", "failed_at"),
    ("expired", "expired_at"),
    ("unknown", "unknown_at"),
)


@dataclass(frozen=True, slots=True)
class ContactClick:
    at: datetime
    link: str
    campaign_id: int | None
    human: bool


@dataclass(frozen=True, slots=True)
class ContactCoupon:
    code: str
    campaign_id: int | None
    page_id: int | None
    redeemed_at: datetime | None
    redeemed_by: str | None


@dataclass(frozen=True, slots=True)
class ContactHistory:
    contact: Contact
    consents: list[ConsentEvent]
    messages: list[Message]
    inbound: list[InboundMessage]
    clicks: list[ContactClick] = field(default_factory=list)
    coupons: list[ContactCoupon] = field(default_factory=list)


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
    clicks = session.execute(
        sa_select(col(Click.clicked_at), col(Link.code), col(Link.campaign_id), col(Click.is_bot))
        .join(Link, col(Link.id) == col(Click.link_id))
        .where(col(Click.contact_id) == contact_id)
        .order_by(col(Click.id))
        .limit(MAX_CLICKS)
    ).all()
    coupons = session.execute(
        sa_select(
            col(Coupon.code),
            col(Coupon.campaign_id),
            col(Coupon.page_id),
            col(Coupon.redeemed_at),
            col(Coupon.redeemed_by),
        )
        .where(col(Coupon.contact_id) == contact_id)
        .order_by(col(Coupon.id))
    ).all()
    return ContactHistory(
        contact=contact,
        consents=consent_history(session=session, contact_id=contact_id),
        messages=list(messages),
        inbound=list(inbound),
        clicks=[ContactClick(at, code, campaign, not bot) for at, code, campaign, bot in clicks],
        coupons=[ContactCoupon(*row) for row in coupons],
    )


def state_times(message: Message) -> dict[str, datetime]:
    """When the message reached each state it reached."""
    times: dict[str, datetime] = {}
    for state, attribute in STATE_TIMES:
        moment = getattr(message, attribute)
        if moment is not None:
            times[state] = moment
    return times
