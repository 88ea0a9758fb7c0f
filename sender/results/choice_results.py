"""A campaign's reply choices, counted: how many recipients chose each (their latest reply
that matched a choice), how many replied with nothing that matched, and how many never
replied (its non-responders: they received its message, state sent or delivered, and
sent nothing back). The same people the segment conditions `reply.campaign_<id>` select
(sender/audience/segments.py), so that the non-responders counted here are those a
reminder reaches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlmodel import Session, col

from sender.campaigns.models import Campaign
from sender.delivery.models import DELIVERED, SENT, ChoiceReply, Message


def choice_results(*, session: Session, campaign: Campaign) -> dict[str, Any] | None:
    """The campaign's choices counted (see the module docstring), None when it offered
    none."""
    if not campaign.choices:
        return None
    campaign_id = campaign.id
    mine = col(ChoiceReply.campaign_id) == campaign_id
    latest = (
        select(func.max(col(ChoiceReply.id)).label("last"))
        .where(mine, col(ChoiceReply.choice).is_not(None))
        .group_by(col(ChoiceReply.contact_id))
        .subquery()
    )
    chosen = dict(
        session.execute(
            select(col(ChoiceReply.choice), func.count())
            .join(latest, col(ChoiceReply.id) == latest.c.last)
            .group_by(col(ChoiceReply.choice))
        ).all()
    )
    unmatched = case((col(ChoiceReply.choice).is_(None), 1), else_=0)
    responders, unmatched_replies = session.execute(
        select(
            func.count(distinct(col(ChoiceReply.contact_id))),
            func.coalesce(func.sum(unmatched), 0),
        ).where(mine)
    ).one()
    replied = select(col(ChoiceReply.contact_id)).where(mine)
    silent = session.execute(
        select(func.count(distinct(col(Message.contact_id)))).where(
            col(Message.campaign_id) == campaign_id,
            col(Message.is_test).is_(False),
            col(Message.state).in_((SENT, DELIVERED)),
            col(Message.contact_id).not_in(replied),
        )
    ).scalar_one()
    counts = {key: int(chosen.get(key, 0)) for key in campaign.choices}
    return {
        "choices": counts,
        "responders": int(responders),
        "unmatched": int(responders) - sum(counts.values()),
        "unmatched_replies": int(unmatched_replies),
        "non_responders": int(silent),
    }
