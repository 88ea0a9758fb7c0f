"""One message to one recipient, now: transactional sends and campaign test sends. They go
through the same outbox, and the same consent rules, as campaigns."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.settings import Settings
from sender.campaigns import get_campaign, known_custom_fields
from sender.consent import refusal
from sender.contacts import contact_fields, ensure_contact, find_by_phone
from sender.models import Contact, Message
from sender.optout import OptOutTexts, with_opt_out
from sender.outbox import enqueue
from sender.phones import normalize_phone
from sender.templates import compile_template
from shortener.codes import CodeMaker
from shortener.links import create_link

# Promotional messages wait for daytime; transactional ones (a code, a receipt) do not.
PROMOTIONAL_WINDOW = "08:00-21:00"


def send_one(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    type: str,
    contact_id: int | None = None,
    phone: str | None = None,
    text: str | None = None,
    template: str | None = None,
    url: str | None = None,
) -> Message:
    if (contact_id is None) == (phone is None):
        raise InvalidInput("give exactly one of contact_id or phone")
    if (text is None) == (template is None):
        raise InvalidInput("give exactly one of text or template")
    contact = _recipient(session, clock, settings, contact_id, phone)
    reason = refusal(contact.status, contact.consent_type, type)
    if reason is not None:
        raise Conflict(f"not sent to {contact.phone}: {reason}")
    if template is not None:
        body = _render(session, clock, codes, settings, template, contact, url, None)
    else:
        assert text is not None
        body = text
    if type == "promotional":
        texts = OptOutTexts(en=settings.opt_out_en, fr=settings.opt_out_fr)
        body = with_opt_out(body, language=contact.language, texts=texts)
    message = enqueue(
        session=session,
        phone=contact.phone,
        text=body,
        type=type,
        now=clock.now(),
        contact_id=contact.id,
        timezones=contact.timezones,
        window=PROMOTIONAL_WINDOW if type == "promotional" else "",
    )
    session.commit()
    return message


def send_test(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    campaign_id: int,
    phone: str,
) -> Message:
    """The campaign's message, rendered for the contact with that phone if there is one,
    sent now to `phone`; marked as a test and kept out of the campaign's statistics (its
    link belongs to no campaign)."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    number = normalize_phone(phone, region=settings.default_region)
    sample = find_by_phone(session=session, phone=number)
    fields: dict[str, Any] = contact_fields(sample) if sample is not None else {"phone": number}
    body = _render(
        session, clock, codes, settings, campaign.template, None, campaign.target_url, fields
    )
    if campaign.type == "promotional":
        texts = OptOutTexts(en=settings.opt_out_en, fr=settings.opt_out_fr)
        body = with_opt_out(body, language=str(fields.get("language", "en")), texts=texts)
    message = enqueue(
        session=session,
        phone=number,
        text=body,
        type=campaign.type,
        now=clock.now(),
        campaign_id=campaign_id,
        is_test=True,
    )
    session.commit()
    return message


def _recipient(
    session: Session,
    clock: Clock,
    settings: Settings,
    contact_id: int | None,
    phone: str | None,
) -> Contact:
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}")
        return contact
    assert phone is not None
    return ensure_contact(session=session, phone=phone, clock=clock, region=settings.default_region)


def _render(
    session: Session,
    clock: Clock,
    codes: CodeMaker,
    settings: Settings,
    source: str,
    contact: Contact | None,
    url: str | None,
    fields: dict[str, Any] | None,
) -> str:
    compiled = compile_template(source, custom_fields=known_custom_fields(session))
    link = ""
    if compiled.uses_link:
        if not url:
            raise InvalidInput("the template has {{ link }}: give a url")
        issued = create_link(
            session=session,
            codes=codes,
            clock=clock,
            url=url,
            contact_id=contact.id if contact is not None else None,
        )
        link = settings.short_url + issued.code
    values = fields if fields is not None else contact_fields(contact) if contact else {}
    return compiled.render(values, link=link)
