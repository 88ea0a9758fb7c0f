"""Reply choices: a reply to a message that offered choices, matched, recorded, answered.

A campaign or an automation may offer `choices` (`{"OUI": {"reply": "Merci"}, "NON":
{"follow_up": {"template": "...", "after_minutes": 60}}}`, checked when saved by
sender/campaigns/choices.py) and an `unmatched` text. A reply to one of its messages
within RICHSMS_REPLY_WINDOW_DAYS (the message sender.delivery.inbound finds it answers)
is matched forgivingly: case, accents, spaces and punctuation do not count ("oui!",
" Oui.", "1)"), and a reply that starts with a choice ("Oui merci") or names exactly one
in a few words ("c'est oui") is that choice. Keywords come first: STOP, HELP... keep
their meaning whatever the choices (inbound.py decides before asking here).

Each reply is recorded (`ChoiceReply`); a matched one is answered with its choice's
`reply` and starts its `follow_up` (another message, after a delay); the first unmatched
one of a recipient gets the `unmatched` text, and every unmatched one waits for a
person (`waiting_replies`, the UI's inbox). Answers leave from the number written to.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlmodel import Session, col

from richsms.errors import InvalidInput
from richsms.merge.contact import contact_fields
from richsms.settings import Settings
from sender.audience.contacts import fold
from sender.audience.custom_fields import known_fields
from sender.audience.models import Contact
from sender.campaigns.models import Automation, Campaign
from sender.compose.composition import Composer, with_answers
from sender.delivery.models import ChoiceReply, InboundMessage, Message
from sender.delivery.outbox import NewMessage, enqueue

# A reply of more words than this is matched only when it starts with a choice.
FEW_WORDS: Final = 4
_NOT_ALNUM: Final = re.compile(r"[^0-9A-Z]+")
_APOSTROPHES: Final = re.compile(r"['’`´]")


def match_choice(text: str, keys: frozenset[str] | set[str]) -> str | None:
    """The choice `text` means among `keys` (normalized by `choice_key`), or None."""
    if not keys:
        return None
    # "c'est" is one word, never the choice C.
    folded = _APOSTROPHES.sub("", fold(text)).upper()
    words = [w for w in _NOT_ALNUM.split(folded) if w]
    if not words:
        return None
    if "".join(words) in keys:  # "o.u.i", "1 ." ...
        return "".join(words)
    if words[0] in keys:  # "Oui merci", "2 svp"
        return words[0]
    named = {w for w in words if w in keys}
    if len(words) <= FEW_WORDS and len(named) == 1:  # "c'est oui", "choix 2"
        return named.pop()
    return None


@dataclass(frozen=True, slots=True)
class Offer:
    """What the message a reply answers offered: its choices and unmatched text, and
    whose they are (a campaign's, an automation's) with the window its messages keep."""

    choices: dict[str, dict[str, Any]]
    unmatched: str | None
    type: str
    campaign_id: int | None
    automation_id: int | None
    window: str

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self.choices)


def offer_of(session: Session, message_id: int | None) -> Offer | None:
    """The choices offered by the message `message_id`, None when it offered none."""
    if message_id is None:
        return None
    row = session.execute(
        select(col(Message.campaign_id), col(Message.automation_id)).where(
            col(Message.id) == message_id
        )
    ).first()
    if row is None:
        return None
    campaign_id, automation_id = row
    if campaign_id is not None:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or not campaign.choices:
            return None
        window = f"{campaign.window_start}-{campaign.window_end}"
        return Offer(campaign.choices, campaign.unmatched, campaign.type, campaign_id, None, window)
    if automation_id is not None:
        automation = session.get(Automation, automation_id)
        if automation is None or not automation.choices:
            return None
        return Offer(
            automation.choices, automation.unmatched, automation.type, None, automation_id, ""
        )
    return None


def offered_keys(session: Session, message_id: int | None) -> frozenset[str]:
    """The choice keys the message offered (empty when none)."""
    offer = offer_of(session, message_id)
    return offer.keys if offer is not None else frozenset()


@dataclass(frozen=True, slots=True)
class Chosen:
    """What a reply to a message offering choices means: the choice it matched (None:
    none) and the text to send back (None: nothing), for the message `message_id`."""

    offer: Offer
    message_id: int
    choice: str | None
    reply: str | None


def choice_of(
    *, session: Session, contact: Contact | None, message_id: int | None, text: str
) -> Chosen | None:
    """What `text`, a reply of `contact` to the message `message_id`, means when that
    message offered choices (None otherwise). Reads only: the inbound handler sends the
    `reply` back as it sends any answer, then calls `record_choice`."""
    offer = offer_of(session, message_id)
    if offer is None or contact is None or message_id is None:
        return None
    choice = match_choice(text, offer.keys)
    if choice is not None:
        return Chosen(offer, message_id, choice, offer.choices[choice].get("reply") or None)
    # Through the index on (campaign or automation, contact): a probe, not a scan.
    owner = (
        col(ChoiceReply.campaign_id) == offer.campaign_id
        if offer.campaign_id is not None
        else col(ChoiceReply.automation_id) == offer.automation_id
    )
    answered_before = session.execute(
        select(col(ChoiceReply.id)).where(
            owner,
            col(ChoiceReply.contact_id) == contact.id,
            col(ChoiceReply.message_id) == message_id,
            col(ChoiceReply.choice).is_(None),
        )
    ).first()
    return Chosen(offer, message_id, None, offer.unmatched if answered_before is None else None)


def record_choice(
    *,
    session: Session,
    chosen: Chosen,
    inbound: InboundMessage,
    contact: Contact,
    settings: Settings,
) -> ChoiceReply:
    """Record the reply `inbound` (stored, its answer queued) as `chosen`, and start the
    follow-up of its choice, if any. Flushes only."""
    assert contact.id is not None and inbound.id is not None
    spec = chosen.offer.choices[chosen.choice] if chosen.choice is not None else {}
    follow_up = (
        _follow_up(session, chosen.offer, spec["follow_up"], contact, inbound, settings)
        if spec.get("follow_up")
        else None
    )
    recorded = ChoiceReply(
        inbound_id=inbound.id,
        contact_id=contact.id,
        campaign_id=chosen.offer.campaign_id,
        automation_id=chosen.offer.automation_id,
        message_id=chosen.message_id,
        choice=chosen.choice,
        reply_message_id=inbound.reply_message_id,
        follow_up_message_id=follow_up.id if follow_up is not None else None,
        received_at=inbound.received_at,
    )
    session.add(recorded)
    session.flush()
    return recorded


def _follow_up(
    session: Session,
    offer: Offer,
    spec: dict[str, Any],
    contact: Contact,
    inbound: InboundMessage,
    settings: Settings,
) -> Message:
    """The follow-up message a choice starts, queued for `after_minutes` from now. It
    belongs to no campaign or automation (a campaign is done when its own messages are,
    and a reply to the follow-up is no answer to their choices): the reply's record
    names it (`follow_up_message_id`)."""
    minutes, now = int(spec.get("after_minutes") or 0), inbound.received_at
    follow_up = NewMessage(
        phone=contact.phone, type=offer.type, due_at=now + timedelta(minutes=minutes),
        contact_id=contact.id, sender=inbound.to,
        window=offer.window, timezones=contact.timezones,
    )  # fmt: skip
    try:
        composer = Composer(
            source=str(spec.get("template") or ""),
            is_template=True,
            type=offer.type,
            sender=inbound.to or None,
            settings=settings,
            custom_fields=known_fields(session),
        )
        fields = fields_with_answers(session, composer, contact)
        composed = composer.compose(fields, language=contact.language, link="")
    except InvalidInput as exc:  # the template failed, or is too long, for this contact
        error = f"template failed for this contact: {exc.message}"
        return enqueue(session=session, message=replace(follow_up, error=error), now=now)
    return enqueue(session=session, message=replace(follow_up, text=composed.text), now=now)


def answers_of(
    session: Session, contact_ids: Collection[int], campaign_ids: Collection[int]
) -> dict[int, dict[str, str]]:
    """Each contact's latest matched answer to each of `campaign_ids` ({contact id:
    {"campaign_12": "OUI"}}), what `reply.campaign_<id>` reads; contacts who did not
    answer are left out. One query for a batch of contacts."""
    if not contact_ids or not campaign_ids:
        return {}
    latest = (
        select(func.max(col(ChoiceReply.id)))
        .where(
            col(ChoiceReply.contact_id).in_(list(contact_ids)),
            col(ChoiceReply.campaign_id).in_(list(campaign_ids)),
            col(ChoiceReply.choice).is_not(None),
        )
        .group_by(col(ChoiceReply.contact_id), col(ChoiceReply.campaign_id))
    )
    rows = session.execute(
        select(
            col(ChoiceReply.contact_id), col(ChoiceReply.campaign_id), col(ChoiceReply.choice)
        ).where(col(ChoiceReply.id).in_(latest))
    ).all()
    found: dict[int, dict[str, str]] = {}
    for contact_id, campaign_id, choice in rows:
        found.setdefault(int(contact_id), {})[f"campaign_{campaign_id}"] = str(choice)
    return found


def fields_with_answers(
    session: Session, composer: Composer, contact: Contact
) -> dict[str, object]:
    """The merge fields of one recipient, with their answers when `composer`'s message
    reads some (`reply.campaign_<id>`)."""
    fields = contact_fields(contact)
    if not composer.reply_campaigns or contact.id is None:
        return fields
    answers = answers_of(session, [contact.id], composer.reply_campaigns)
    return with_answers(fields, answers.get(contact.id, {}))
