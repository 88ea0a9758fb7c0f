"""A campaign's results by language and by sender number: production, delivery, clicks,
redemptions and opt-outs of the messages in each language (the translation each
recipient got) and from each number, and who planning left out and why.

Each figure is one GROUP BY over the record, joined to the outbox row that carried it:
a click through its link's message, a redemption through the recipient's message of the
campaign, an opt-out through the message it answers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, distinct, func, select, union_all
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from sender.delivery.inbound import OPT_OUT_WORDS
from sender.delivery.models import (
    DELIVERED,
    ERROR,
    FAILED,
    SENT,
    UNDELIVERED,
    InboundMessage,
    Message,
)
from shortener.click_days import ClickDay
from shortener.models import Click, Link

_FIGURES = ("produced", "errors", "sent", "delivered", "failed", "unique_clicks",
            "redemptions", "opt_outs")  # fmt: skip
_SPLITS = {"by_language": col(Message.language), "by_sender": col(Message.sender)}


def campaign_breakdown(*, session: Session, campaign_id: int) -> dict[str, Any]:
    """{"by_language": {"fr": {figures}, ...}, "by_sender": {"36180": {figures}, ...}}
    (a message without a language is under "", one from the provider's default number
    under "")."""
    return {name: _split(session, campaign_id, column) for name, column in _SPLITS.items()}


def _split(session: Session, campaign_id: int, column: Any) -> dict[str, dict[str, int]]:
    ours = and_(col(Message.campaign_id) == campaign_id, col(Message.is_test).is_(False))
    found: dict[str, dict[str, int]] = {}

    def add(key: object, figure: str, count: Any) -> None:
        row = found.setdefault(str(key or ""), dict.fromkeys(_FIGURES, 0))
        row[figure] += int(count or 0)

    for key, state, count in session.execute(
        select(column, col(Message.state), func.count())
        .where(ours)
        .group_by(column, col(Message.state))
    ).all():
        add(key, "errors" if state == ERROR else "produced", count)
        if state in (SENT, DELIVERED, UNDELIVERED):
            add(key, "sent", count)
        if state == DELIVERED:
            add(key, "delivered", count)
        if state in (FAILED, UNDELIVERED):
            add(key, "failed", count)
    # People who clicked: in the raw log, or on a day folded out of it (its link's).
    clicked = union_all(
        select(column.label("key"), col(Click.contact_id).label("contact_id"))
        .select_from(Message)
        .join(Click, col(Click.link_id) == col(Message.link_id))
        .where(ours, col(Click.is_bot).is_(False)),
        select(column, col(Link.contact_id))
        .select_from(Message)
        .join(ClickDay, col(ClickDay.link_id) == col(Message.link_id))
        .join(Link, col(Link.id) == col(ClickDay.link_id))
        .where(ours, col(ClickDay.human_clicks) > 0),
    ).subquery()
    for key, count in session.execute(
        select(clicked.c.key, func.count(distinct(clicked.c.contact_id))).group_by(clicked.c.key)
    ).all():
        add(key, "unique_clicks", count)
    # Redemptions: the redeemed coupons counted by recipient (a few), then each
    # recipient's message read once (a join would look the outbox up for each coupon).
    redeemed = (
        select(col(Coupon.contact_id), func.count())
        .where(col(Coupon.campaign_id) == campaign_id, col(Coupon.redeemed_at).is_not(None))
        .group_by(col(Coupon.contact_id))
    )
    by_contact = {int(c): int(n) for c, n in session.execute(redeemed).all() if c is not None}
    if by_contact:
        for contact_id, key in session.execute(
            select(col(Message.contact_id), column).where(
                ours,
                col(Message.contact_id).in_(
                    select(col(Coupon.contact_id)).where(
                        col(Coupon.campaign_id) == campaign_id,
                        col(Coupon.redeemed_at).is_not(None),
                    )
                ),
            )
        ).all():
            add(key, "redemptions", by_contact.pop(int(contact_id), 0))
    for key, count in session.execute(
        select(column, func.count(distinct(col(InboundMessage.contact_id))))
        .select_from(InboundMessage)
        .join(Message, col(Message.id) == col(InboundMessage.message_id))
        .where(
            ours,
            col(InboundMessage.campaign_id) == campaign_id,
            col(InboundMessage.keyword).in_(sorted(OPT_OUT_WORDS)),
        )
        .group_by(column)
    ).all():
        add(key, "opt_outs", count)
    return dict(sorted(found.items()))
