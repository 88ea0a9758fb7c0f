"""Inbound messages: keywords (STOP, START, HELP in French and English) and replies.

Every inbound message is stored, with the campaign (or unitary message) it answers: the
last message the contact received within RICHSMS_REPLY_WINDOW_DAYS. One from a number
that cannot be read is kept for review all the same (`never_refuse`), never dropped;
when that number, its digits alone, is a contact's, the message acts for that contact
(an opt-out is honoured).

What counts as an opt-out (FCC rules since 2025: a reply using "stop", "quit", "end",
"revoke", "opt out", "cancel" or "unsubscribe" revokes consent by reasonable means; in
French "stop", "arrêt", "arrête(z)", "désabonner", "désinscrire"...), case and accents
ignored:

- a message that is one keyword ("  Arrêt ", "stop.", "Opt-out") acts at once;
- a message that uses an opt-out word with nothing but courtesy around it ("stop please",
  "Unsubscribe me", "STOP ALL", "je veux me désabonner") opts out too;
- a message that uses an opt-out word among other words ("I can't stop laughing", "when
  does the offer end?") is ambiguous: the contact gets one clarification message and
  nothing else until they answer (they are held as opted out meanwhile); STOP confirms
  the opt-out, START keeps them subscribed.

An opt-out is effective before its confirmation is even queued; a contact who had
already opted out gets no second confirmation. Confirmations are administrative messages
in the contact's language, GSM-7 and one segment each, queued in the outbox like every
other message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Final

from sqlmodel import Session, col, select

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.settings import Settings
from richsms.types import AsDict
from sender.audience.contacts import (
    EXPRESS,
    OPTED_OUT,
    create_contact,
    find_by_phone,
    fold,
    opt_in,
    opt_out,
)
from sender.audience.models import Contact
from sender.audience.phones import ParsedPhone, parse_international, parse_phone
from sender.audience.recipient_locale import recipient_language
from sender.delivery.choice_replies import Chosen, choice_of, offered_keys, record_choice
from sender.delivery.models import InboundMessage, Message
from sender.delivery.outbox import NewMessage, enqueue

log = logging.getLogger("richsms.inbound")

OPT_OUT_WORDS: Final = frozenset(
    {
        "STOP", "ARRET", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
        "ARRETE", "ARRETEZ", "ARRETER", "STOPPER", "STOPPEZ", "DESABONNER", "DESABONNEZ",
        "DESABONNE", "DESABONNEMENT", "DESINSCRIRE", "DESINSCRIVEZ", "DESINSCRIPTION",
    }
)  # fmt: skip
# Words that, around an opt-out word, leave no doubt about what is asked: "stop please",
# "Unsubscribe me", "STOP ALL", "arrêtez de m'envoyer des SMS".
COURTESY_WORDS: Final = frozenset(
    {
        "PLEASE", "PLS", "PLZ", "ME", "ALL", "NOW", "THANKS", "THANK", "YOU", "THX", "TEXT",
        "TEXTS", "TEXTING", "MESSAGE", "MESSAGES", "MESSAGING", "SMS", "SEND", "SENDING",
        "ADS", "THIS", "THESE", "IT", "THEM", "FROM", "TO", "THE", "MY", "NUMBER", "LIST",
        "US", "JUST", "IMMEDIATELY", "ASAP", "RIGHT", "AWAY", "ANY", "MORE", "NO",
        "I", "WANT", "WISH", "WOULD", "LIKE", "OK", "OKAY", "AND", "SUBSCRIPTION",
        "SVP", "STP", "MERCI", "MOI", "M", "JE", "VEUX", "VOUDRAIS", "SOUHAITE", "TOUT",
        "TOUS", "LES", "DES", "DE", "D", "VOS", "VOTRE", "CE", "CES", "NUMERO", "LISTE",
        "MAINTENANT", "S", "IL", "VOUS", "PLAIT", "NE", "PLUS", "RECEVOIR", "ENVOI",
        "ENVOIS", "ENVOYER", "ENVOYEZ", "PUB", "PUBS", "PUBLICITE", "PUBLICITES", "OFFRES",
        "ABONNEMENT", "ET", "A", "AU", "LA", "LE", "OUI", "SE",
    }
)  # fmt: skip
OPT_IN_WORDS: Final = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS: Final = frozenset({"HELP", "AIDE", "INFO"})
# Keywords that say which language the sender speaks, when we do not know them yet.
FRENCH_WORDS: Final = frozenset(
    {"ARRET", "AIDE", "ARRETE", "ARRETEZ", "ARRETER", "STOPPER", "STOPPEZ", "DESABONNER",
     "DESABONNEZ", "DESABONNE", "DESABONNEMENT", "DESINSCRIRE", "DESINSCRIVEZ",
     "DESINSCRIPTION"}
)  # fmt: skip

# Replies, per language. Each must stay GSM-7 (no ê, ç, â...) and within one segment:
# tests check it with sender.compose.encoding.analyze.
OPT_OUT_REPLY: Final = {
    "fr": "Vous ne recevrez plus de SMS de notre part. Pour vous réinscrire, répondez START.",
    "en": "You are unsubscribed and will receive no more messages from us. "
    "Reply START to subscribe again.",
}
OPT_IN_REPLY: Final = {
    "fr": "Votre inscription est confirmée. Pour ne plus recevoir nos SMS, répondez STOP.",
    "en": "You are subscribed again. Reply STOP to unsubscribe, HELP for help.",
}
CLARIFY_REPLY: Final = {
    "fr": "Souhaitez-vous ne plus recevoir nos SMS ? Repondez STOP pour confirmer, "
    "START pour continuer a les recevoir.",
    "en": "Do you want to stop receiving our messages? Reply STOP to confirm, "
    "START to keep receiving them.",
}
HELP_REPLY: Final = {
    "fr": "Vous recevez nos offres par SMS. Répondez STOP pour ne plus en recevoir, "
    "START pour vous réinscrire.",
    "en": "You receive our offers by SMS. Reply STOP to unsubscribe, START to subscribe again.",
}

OPT_OUT: Final = "opt_out"
OPT_IN: Final = "opt_in"
HELP: Final = "help"
CLARIFY: Final = "clarify"
REPLY: Final = "reply"
UNREADABLE: Final = "unreadable"
# opted_out_via of a contact held until they answer the clarification.
CLARIFY_VIA: Final = "clarify"
MAX_TEXT: Final = 2_000
_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")
_OPT_OUT_PHRASE: Final = re.compile(r"\bopt[^0-9a-z]*out\b")


@dataclass(frozen=True, slots=True)
class InboundResult(AsDict):
    """What an inbound message did: `action` is opt_out, opt_in, help, clarify or reply;
    `reply` is the text queued back to the sender (None when nothing is sent back);
    `campaign_id` / `message_id` say what it answers; `choice` the choice a reply
    matched among those the message offered (sender/delivery/choice_replies.py)."""

    action: str
    reply: str | None
    keyword: str | None
    inbound_id: int
    contact_id: int | None
    campaign_id: int | None
    message_id: int | None = None
    choice: str | None = None


def keyword_of(text: str) -> str | None:
    """The keyword `text` is, upper-case and unaccented ("  Arrêt " -> "ARRET"), or None.
    Only a message of one word counts here; see `opt_out_request` for longer ones."""
    folded = _OPT_OUT_PHRASE.sub("optout", fold(text))
    if not folded or any(c.isspace() for c in folded):
        return None
    word = _NOT_ALNUM.sub("", folded).upper()
    if word in OPT_OUT_WORDS or word in OPT_IN_WORDS or word in HELP_WORDS:
        return word
    return None


def opt_out_request(text: str) -> tuple[str, bool] | None:
    """For a message of several words using an opt-out word: (that word, whether the
    request is clear), else None. Clear means nothing but courtesy around the opt-out
    words ("stop please", "STOP ALL"); anything else is ambiguous."""
    folded = _OPT_OUT_PHRASE.sub("optout", fold(text))
    words = [w.upper() for w in _NOT_ALNUM.split(folded) if w]
    found = [w for w in words if w in OPT_OUT_WORDS]
    if not found:
        return None
    clear = all(w in OPT_OUT_WORDS or w in COURTESY_WORDS for w in words)
    return found[0], clear


def handle_inbound(
    *,
    session: Session,
    phone: str,
    to: str,
    text: str,
    clock: Clock,
    settings: Settings,
    received_at: datetime | None = None,
    provider_ref: str | None = None,
    never_refuse: bool = False,
) -> InboundResult:
    """Store one inbound message and act on it (committed). `phone` is the sender: an
    international number ("+15145552420", as networks give them) is kept as it is; a
    number without a country code (typed in a test harness) is read in the region of
    our number `to` when it has one, else the default region, never as another
    country. `to` is our number it was sent to, from which any reply leaves.
    `received_at` defaults to now; `provider_ref` names the message for the provider
    (unique: see `provider_events.receive_inbound`).

    A message that cannot be read (its sender's number, a text too long) is refused
    (InvalidInput), unless `never_refuse` (a provider's: refusing it would only have the
    network hand it over again): then it is kept for review, saying why. When its number,
    its digits alone, is a contact's, it acts for them as any message of theirs (a STOP
    opts them out); otherwise it does nothing, `unreadable` (flushes only)."""
    review = None
    try:
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"an inbound message has at most {MAX_TEXT} characters")
        parsed = _sender_number(phone, to, settings.default_region)
    except InvalidInput as exc:
        if not never_refuse:
            raise
        log.warning("inbound message from %s kept for review: %s", phone, exc.message)
        text, review = text[:MAX_TEXT], f"{exc.message} (sent as {phone.strip()[:40]!r})"[:200]
        known = _contact_of(session, phone, to, settings.default_region)
        if known is None:
            return _unreadable(session, phone, to, text, review, received_at or clock.now(),
                               provider_ref)
        parsed = parse_international(known.phone)
    to = to.strip()[:20]
    contact = find_by_phone(session=session, phone=parsed.e164)
    now = received_at or clock.now()
    keyword = keyword_of(text)
    request = None if keyword is not None else opt_out_request(text)
    if request is not None and request[1]:
        keyword, request = request[0][:16], None  # a clear request in several words
    answered_message = (
        _last_received(session, contact, now, settings.reply_window_days)
        if contact is not None
        else None
    )
    campaign_id = answered_message[0] if answered_message else None
    message_id = answered_message[1] if answered_message else None
    if keyword in OPT_IN_WORDS and contact is not None and contact.status != OPTED_OUT:
        if keyword in offered_keys(session, message_id):
            keyword = None  # a subscriber's "YES" to a message offering YES/NO: a choice
    via = f"keyword:{keyword}"
    # A number we did not know, become a contact by what it texted.
    new_contact = partial(
        create_contact, session=session, phone=parsed.e164, clock=clock,
        region=settings.default_region, strict=False,
    )  # fmt: skip

    reply_language = partial(_reply_language, default_region=settings.default_region)
    reply: str | None = None
    chosen: Chosen | None = None
    if keyword in OPT_OUT_WORDS:
        action = OPT_OUT
        if contact is None:
            # Remember the refusal, so that a later import cannot message this number.
            contact = new_contact(
                language=_language_of(keyword, parsed.language), status=OPTED_OUT, opted_out_via=via
            )
            reply = OPT_OUT_REPLY[reply_language(contact)]
        else:
            # A repeated STOP gets no second confirmation; the answer to a clarification
            # gets its first one.
            confirm = contact.status != OPTED_OUT or contact.opted_out_via == CLARIFY_VIA
            if contact.opted_out_via == CLARIFY_VIA:
                contact.opted_out_via = via[:64]
            opt_out(session=session, contact=contact, via=via, clock=clock)
            if confirm:
                reply = OPT_OUT_REPLY[reply_language(contact)]
    elif keyword in OPT_IN_WORDS:
        action = OPT_IN
        if contact is None:
            contact = new_contact()
        opt_in(session=session, contact=contact, via=via, clock=clock)
        if contact.consent_type is None:
            # Texting START is an express request: the only consent this contact has.
            contact.consent_type, contact.consent_source, contact.consent_at = EXPRESS, via, now
            session.add(contact)
        reply = OPT_IN_REPLY[reply_language(contact)]
    elif keyword in HELP_WORDS:
        action = HELP
        language = (
            reply_language(contact)
            if contact is not None
            else _language_of(keyword, parsed.language)
        )
        reply = HELP_REPLY[language]
    elif request is not None and contact is not None:
        # Stored without a keyword: only a clear request counts as an opt-out.
        if contact.status == OPTED_OUT:
            action = REPLY  # already held or opted out: nothing more is sent
        else:
            # Ambiguous: hold every message until they answer (FCC: nothing else until
            # the consumer confirms they do not revoke), and ask once.
            action = CLARIFY
            opt_out(session=session, contact=contact, via=CLARIFY_VIA, clock=clock)
            reply = CLARIFY_REPLY[reply_language(contact)]
    else:
        action = REPLY
        # To a message offering reply choices: the matched choice's answer, or unmatched.
        chosen = choice_of(session=session, contact=contact, message_id=message_id, text=text)
        reply = chosen.reply if chosen is not None else None

    contact_id = contact.id if contact is not None else None
    reply_message = None
    if reply is not None:
        answer = NewMessage(
            phone=parsed.e164, text=reply, type="administrative", contact_id=contact_id, sender=to
        )
        reply_message = enqueue(session=session, message=answer, now=now)
        session.flush()
    inbound = InboundMessage(
        contact_id=contact_id,
        campaign_id=campaign_id,
        message_id=message_id,
        phone=parsed.e164,
        to=to,
        text=text,
        keyword=keyword,
        action=action,
        reply_message_id=reply_message.id if reply_message is not None else None,
        received_at=now,
        provider_ref=provider_ref,
        review=review,
    )
    session.add(inbound)
    session.flush()
    assert inbound.id is not None
    if chosen is not None and contact is not None:
        record_choice(session=session, chosen=chosen, inbound=inbound, contact=contact,
                      settings=settings)  # fmt: skip
    result = InboundResult(
        action, reply, keyword, inbound.id, contact_id, campaign_id, message_id,
        chosen.choice if chosen is not None else None,
    )  # fmt: skip
    session.commit()
    return result


def _unreadable(
    session: Session,
    phone: str,
    to: str,
    text: str,
    review: str,
    at: datetime,
    provider_ref: str | None,
) -> InboundResult:
    """Keep a message whose number is nobody's we can tell, for review; it does nothing."""
    keyword = keyword_of(text)
    inbound = InboundMessage(
        phone=phone.strip()[:20], to=to.strip()[:20], text=text, keyword=keyword,
        action=UNREADABLE, received_at=at, provider_ref=provider_ref, review=review,
    )
    session.add(inbound)
    session.flush()
    assert inbound.id is not None
    return InboundResult(UNREADABLE, None, keyword, inbound.id, None, None)


def _contact_of(session: Session, phone: str, to: str, default_region: str) -> Contact | None:
    """The one contact whose number `phone` is: read as usual if it can be, else by its
    digits alone (`0033…` or `33…` as `+33…`)."""
    digits = "".join(c for c in phone if c.isdigit())
    candidates = {"+" + digits, "+" + digits.removeprefix("00")} if len(digits) >= 6 else set()
    try:
        candidates.add(_sender_number(phone, to, default_region).e164)
    except InvalidInput:
        pass
    if not candidates:
        return None
    found = session.exec(select(Contact).where(col(Contact.phone).in_(candidates))).all()
    return found[0] if len(found) == 1 else None


def review_queue(*, session: Session, after: int = 0, limit: int = 100) -> list[InboundMessage]:
    """Inbound messages kept for review (their number could not be read), newest first,
    paged by id (`after`: the last id of the previous page, 0 for the first)."""
    query = select(InboundMessage).where(col(InboundMessage.review).is_not(None))
    if after:
        query = query.where(col(InboundMessage.id) < after)
    return list(session.exec(query.order_by(col(InboundMessage.id).desc()).limit(limit)))


def _sender_number(phone: str, to: str, default_region: str) -> ParsedPhone:
    # Carriers hand over numbers we may not consider valid for sending: a STOP from any
    # number of a possible length must still be honoured (strict=False).
    if phone.strip().startswith("+"):
        return parse_international(phone)
    region = default_region
    try:
        region = parse_international(to).region or default_region
    except InvalidInput:
        pass  # a short code or an alphanumeric id: no country of its own
    try:
        return parse_phone(phone, region=region)
    except InvalidInput:
        pass
    # Many SMSCs give an international number without its + (type of number unknown):
    # "15145550250" is no French number, but a valid Montréal one.
    digits = phone.strip()
    if digits.isdigit():
        try:
            return parse_international("+" + digits, strict=True)
        except InvalidInput:
            pass
    return parse_phone(phone, region=region, strict=False)


def _reply_language(contact: Contact, default_region: str) -> str:
    """The contact's language (their own, else their number's), as every message to
    them: a Québec number without a language is answered in French."""
    spoken = recipient_language(contact.language, contact.phone, default_region)
    return "fr" if spoken == "fr" else "en"


def _language_of(keyword: str | None, number_language: str) -> str:
    return "fr" if keyword in FRENCH_WORDS else number_language


def _last_received(
    session: Session, contact: Contact, now: datetime, window_days: int
) -> tuple[int | None, int] | None:
    """(campaign id, message id) of the last message sent to the contact within the
    window, our own answers to their texts and test sends left out. Looked up by
    contact: the outbox is indexed on contact_id, not on phone."""
    answers = select(col(InboundMessage.reply_message_id)).where(
        col(InboundMessage.contact_id) == contact.id,
        col(InboundMessage.reply_message_id).is_not(None),
    )
    row = session.exec(
        select(col(Message.campaign_id), col(Message.id))
        .where(
            col(Message.contact_id) == contact.id,
            col(Message.sent_at).is_not(None),
            col(Message.sent_at) >= now - timedelta(days=window_days),
            col(Message.sent_at) <= now,
            col(Message.is_test).is_(False),
            col(Message.id).not_in(answers),
        )
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    campaign_id, message_id = row
    assert message_id is not None
    return campaign_id, message_id
