"""Inbound messages: keywords (STOP, START, HELP in French and English) and replies.

Every inbound message is stored. A message that is one keyword, whatever its case,
accents and surrounding punctuation ("  Arrêt ", "stop.", "Opt-out"), acts at once:
an opt-out is effective before the confirmation is even queued. Anything else is kept as
a reply to the campaign of the latest message the contact received.

Confirmations are administrative messages in the contact's language, GSM-7 and one
segment each, queued in the outbox like every other message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.contacts import (
    EXPRESS,
    OPTED_OUT,
    create_contact,
    find_by_phone,
    fold,
    opt_in,
    opt_out,
)
from sender.models import Contact, InboundMessage, Message
from sender.outbox import enqueue
from sender.phones import default_language, parse_phone

OPT_OUT_WORDS: Final = frozenset(
    {"STOP", "ARRET", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS: Final = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS: Final = frozenset({"HELP", "AIDE", "INFO"})
# Keywords that say which language the sender speaks, when we do not know them yet.
FRENCH_WORDS: Final = frozenset({"ARRET", "AIDE"})

# Replies, per language. Each must stay GSM-7 (no ê, ç, â...) and within one segment:
# tests check it with sender.encoding.analyze.
OPT_OUT_REPLY: Final = {
    "fr": "Vous ne recevrez plus de SMS de notre part. Pour vous réinscrire, répondez START.",
    "en": "You are unsubscribed and will receive no more messages from us. "
    "Reply START to subscribe again.",
}
OPT_IN_REPLY: Final = {
    "fr": "Votre inscription est confirmée. Pour ne plus recevoir nos SMS, répondez STOP.",
    "en": "You are subscribed again. Reply STOP to unsubscribe, HELP for help.",
}
HELP_REPLY: Final = {
    "fr": "Vous recevez nos offres par SMS. Répondez STOP pour ne plus en recevoir, "
    "START pour vous réinscrire.",
    "en": "You receive our offers by SMS. Reply STOP to unsubscribe, START to subscribe again.",
}

OPT_OUT: Final = "opt_out"
OPT_IN: Final = "opt_in"
HELP: Final = "help"
REPLY: Final = "reply"
MAX_TEXT: Final = 2_000
_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What an inbound message did: `action` is opt_out, opt_in, help or reply; `reply`
    is the text queued back to the sender (None for a plain reply)."""

    action: str
    reply: str | None
    keyword: str | None
    inbound_id: int
    contact_id: int | None
    campaign_id: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "reply": self.reply,
            "keyword": self.keyword,
            "inbound_id": self.inbound_id,
            "contact_id": self.contact_id,
            "campaign_id": self.campaign_id,
        }


def keyword_of(text: str) -> str | None:
    """The keyword `text` is, upper-case and unaccented ("  Arrêt " -> "ARRET"), or None.
    Only a message of one word counts: "stop sending me ads" is a reply, not a keyword."""
    folded = fold(text)
    if not folded or any(c.isspace() for c in folded):
        return None
    word = _NOT_ALNUM.sub("", folded).upper()
    if word in OPT_OUT_WORDS or word in OPT_IN_WORDS or word in HELP_WORDS:
        return word
    return None


def handle_inbound(
    *, session: Session, phone: str, to: str, text: str, clock: Clock, settings: Settings
) -> InboundResult:
    """Store one inbound message and act on it (committed). `phone` is the sender, in
    E.164 or national form (read in the default region); `to` is our number it was sent
    to, from which any reply leaves."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"an inbound message has at most {MAX_TEXT} characters")
    # Carriers hand over numbers we may not consider valid for sending: a STOP from any
    # number of a possible length must still be honoured.
    parsed = parse_phone(phone, region=settings.default_region, strict=False)
    to = to.strip()[:20]
    contact = find_by_phone(session=session, phone=parsed.e164)
    keyword = keyword_of(text)
    now = clock.now()
    via = f"keyword:{keyword}"

    campaign_id: int | None = None
    reply: str | None = None
    if keyword in OPT_OUT_WORDS:
        action = OPT_OUT
        if contact is None:
            # Remember the refusal, so that a later import cannot message this number.
            contact = create_contact(
                session=session,
                phone=parsed.e164,
                clock=clock,
                region=settings.default_region,
                language=_language_of(keyword, parsed.region),
                status=OPTED_OUT,
                opted_out_via=via,
                strict=False,
            )
        else:
            opt_out(session=session, contact=contact, via=via, clock=clock)
        reply = OPT_OUT_REPLY[_reply_language(contact)]
    elif keyword in OPT_IN_WORDS:
        action = OPT_IN
        if contact is None:
            contact = create_contact(
                session=session,
                phone=parsed.e164,
                clock=clock,
                region=settings.default_region,
                strict=False,
            )
        opt_in(session=session, contact=contact, via=via, clock=clock)
        if contact.consent_type is None:
            # Texting START is an express request: the only consent this contact has.
            contact.consent_type, contact.consent_source, contact.consent_at = EXPRESS, via, now
            session.add(contact)
        reply = OPT_IN_REPLY[_reply_language(contact)]
    elif keyword in HELP_WORDS:
        action = HELP
        language = (
            _reply_language(contact)
            if contact is not None
            else _language_of(keyword, parsed.region)
        )
        reply = HELP_REPLY[language]
    else:
        action = REPLY
        if contact is not None:
            campaign_id = _latest_campaign(session, contact)

    contact_id = contact.id if contact is not None else None
    inbound = InboundMessage(
        contact_id=contact_id,
        campaign_id=campaign_id,
        phone=parsed.e164,
        to=to,
        text=text,
        keyword=keyword,
        received_at=now,
    )
    session.add(inbound)
    if reply is not None:
        enqueue(
            session=session,
            phone=parsed.e164,
            text=reply,
            type="administrative",
            now=now,
            contact_id=contact_id,
            sender=to,
        )
    session.flush()
    assert inbound.id is not None
    result = InboundResult(action, reply, keyword, inbound.id, contact_id, campaign_id)
    session.commit()
    return result


def _reply_language(contact: Contact) -> str:
    return "fr" if contact.language == "fr" else "en"


def _language_of(keyword: str | None, region: str | None) -> str:
    return "fr" if keyword in FRENCH_WORDS else default_language(region)


def _latest_campaign(session: Session, contact: Contact) -> int | None:
    """The campaign of the last message sent to the contact (None for a unitary send).
    Looked up by contact: the outbox is indexed on contact_id, not on phone."""
    return session.exec(
        select(col(Message.campaign_id))
        .where(col(Message.contact_id) == contact.id, col(Message.sent_at).is_not(None))
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        .limit(1)
    ).first()
