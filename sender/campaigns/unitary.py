"""One message to one recipient, now: transactional sends and campaign test sends. They go
through the same outbox, the same consent rules and the same composition as campaigns.

`send_unitary` is the use case every edge calls (the API's `POST /api/messages` with a
`UnitaryMessage`, `POST /api/campaigns/{id}/test` and the UI's test button with a
`CampaignTestSend`). It is two steps, so that on SQLite nothing is rendered while the
write lock is held: `prepare_*` reads and renders in the `reading` session (and refuses
a bad template or a message that is too long before anything is written); `write_send`
then creates the contact and the link if needed and enqueues the message in the
`writing` session. An edge that holds one session for both passes it twice. Both only
flush: the edge commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session

from landing_templates.links import issue_page_links
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound
from richsms.settings import Settings
from sender.audience.consent import refusal
from sender.audience.contacts import ERASED, arriving_status, ensure_contact, find_by_phone
from sender.audience.custom_fields import known_fields
from sender.audience.models import Contact
from sender.audience.phones import parse_phone
from sender.audience.selection import usual_language
from sender.campaigns.ab.spec import tested_variant
from sender.campaigns.campaign import get_campaign
from sender.campaigns.variants import CampaignVariants
from sender.compose.composition import Composer, Draft, number_mentions
from sender.delivery.choice_replies import fields_with_answers
from sender.delivery.models import Message, SenderNumber
from sender.delivery.outbox import NewMessage, enqueue
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_link

# Promotional messages wait for daytime; transactional ones (a code, a receipt) do not.
PROMOTIONAL_WINDOW: Final = "08:00-21:00"


@dataclass(frozen=True, slots=True)
class UnitaryMessage:
    """What a unitary send asks for: exactly one of `contact_id` and `phone`, exactly one
    of `text` and `template`, the `url` its {{ link }} leads to, the sender to send from."""

    type: str
    contact_id: int | None = None
    phone: str | None = None
    text: str | None = None
    template: str | None = None
    url: str | None = None
    sender_id: int | None = None


@dataclass(frozen=True, slots=True)
class PreparedSend:
    """A send checked and rendered, not yet written."""

    phone: str  # E.164
    contact_id: int | None  # None: the contact is created when written
    type: str
    draft: Draft
    url: str | None
    timezones: str = ""
    campaign_id: int | None = None
    is_test: bool = False
    page_id: int | None = None  # the link leads to this page (a page campaign's test)
    sender: str = ""  # the number it goes from ("": the provider's default)
    language: str | None = None  # the language of its text (a campaign's translation)


def prepare_send(*, session: Session, settings: Settings, message: UnitaryMessage) -> PreparedSend:
    """Check and render a unitary send (reads only)."""
    type, template, url = message.type, message.template, message.url
    if (message.contact_id is None) == (message.phone is None):
        raise InvalidInput("give exactly one of contact_id or phone")
    if (message.text is None) == (template is None):
        raise InvalidInput("give exactly one of text or template")
    line = (
        session.get(SenderNumber, message.sender_id) if message.sender_id is not None else None
    )
    sender = line.value if line is not None else None
    composer = Composer(
        source=template if template is not None else message.text or "",
        is_template=template is not None,
        type=type,
        sender=sender,
        mentions=number_mentions(line, settings) if line is not None else None,
        settings=settings,
        custom_fields=known_fields(session) if template is not None else (),
    )
    if composer.uses_link and not url:
        raise InvalidInput("the template has {{ link }}: give a url")
    contact = _recipient(session, settings, message.contact_id, message.phone)
    if isinstance(contact, Contact):
        status, consent = contact.status, contact.consent_type
        fields = fields_with_answers(session, composer, contact)
        number, zones, language = contact.phone, contact.timezones, contact.language
    else:  # a number we have no contact for yet: created (as it arrives), without consent
        parsed = parse_phone(contact, region=settings.default_region)
        status, consent = arriving_status(session=session, phone=parsed.e164), None
        number, zones, language = parsed.e164, " ".join(parsed.timezones), parsed.language
        fields = {"phone": number, "language": language}
    reason = refusal(status, consent, type)
    if reason is not None:
        raise Conflict(f"not sent to {number}: {reason}")
    return PreparedSend(
        phone=number,
        contact_id=contact.id if isinstance(contact, Contact) else None,
        type=type,
        draft=composer.draft(fields, language=language),
        url=url if composer.uses_link else None,
        timezones=zones,
        sender=sender or "",
    )


def prepare_test(
    *, session: Session, settings: Settings, test: CampaignTestSend
) -> PreparedSend:
    """The campaign's message for a test send to `test.phone` (reads only): personalized
    for the contact the marketer picked (`contact_id`), else for a sample person made up
    for tests in the audience's usual language, never for whoever owns the number typed.
    The message and its link are marked as tests: they count in no figure. With
    `variant`, the A/B test's variant is sent (its text and page)."""
    campaign = get_campaign(session=session, campaign_id=test.campaign_id)
    if test.variant is not None:
        campaign = tested_variant(campaign, test.variant)
    number = parse_phone(test.phone, region=settings.default_region).e164
    variants = CampaignVariants(session=session, campaign=campaign, settings=settings)
    chosen: Contact | None = None
    if test.contact_id is not None:
        found = _recipient(session, settings, test.contact_id, None)
        assert isinstance(found, Contact)
        chosen = found
        language = variants.language_of(chosen.language, chosen.phone)
    else:
        language = usual_language(
            session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
        ) or variants.language_of(None, number)
    # From the number that serves the test number's country, else the contact's.
    sender = variants.sender_for(number)
    if isinstance(sender, str) and chosen is not None:
        sender = variants.sender_for(chosen.phone)
    if isinstance(sender, str):
        raise Conflict(f"no test sent to {number}: {sender}")
    text = variants.texts.get(language, variants.main)
    composer = variants.composer(text, sender)
    if chosen is not None:
        fields = fields_with_answers(session, composer, chosen)
    else:
        fields = sample_fields(composer.fields, phone=number, language=language)
    return PreparedSend(
        phone=number,
        contact_id=None,
        type=campaign.type,
        draft=composer.draft(fields, language=language),
        url=campaign.target_url if composer.uses_link else None,
        campaign_id=test.campaign_id,
        is_test=True,
        # As its recipients' links do: to the published page, not to no link at all.
        page_id=text.page_id if composer.uses_link else None,
        sender=sender.value if sender is not None else "",
        language=text.language,
    )


# The person a test send is personalized for when the marketer picks no contact.
SAMPLE_PERSON: Final = {
    "first_name": "Camille",
    "last_name": "Martin",
    "email": "camille.martin@example.com",
}


def sample_fields(names: Sequence[str], *, phone: str, language: str) -> dict[str, object]:
    """Merge fields made up for a test: the sample person, the test number, and each other
    field the template reads shown as its name in brackets (`[city]`)."""
    fields: dict[str, object] = {name: f"[{name}]" for name in names}
    fields.update(SAMPLE_PERSON, phone=phone, language=language, timezone="")
    return fields


def write_send(
    *, session: Session, clock: Clock, settings: Settings, codes: CodeMaker, send: PreparedSend
) -> Message:
    """Write a prepared send: its contact if new, its link, its message. Flushes only."""
    contact_id = send.contact_id
    if contact_id is None and not send.is_test:
        contact = ensure_contact(
            session=session, phone=send.phone, clock=clock, region=settings.default_region
        )
        contact_id = contact.id
    link = ""
    link_id = None
    # A test's link belongs to no campaign and no contact: it stays out of the statistics.
    if send.page_id is not None:
        [page_link] = issue_page_links(
            session=session,
            codes=codes,
            clock=clock,
            base_url=settings.base_url,
            page_id=send.page_id,
            contact_ids=[None if send.is_test else contact_id],
            is_test=send.is_test,
        )
        link, link_id = settings.short_url + page_link.code, page_link.id
    elif send.url is not None:
        issued = create_link(
            session=session,
            codes=codes,
            clock=clock,
            spec=LinkSpec(url=send.url, is_test=send.is_test),
            contact_id=None if send.is_test else contact_id,
        )
        link, link_id = settings.short_url + issued.code, issued.id
    composed = send.draft.finish(link)
    message = NewMessage(
        phone=send.phone,
        text=composed.text,
        type=send.type,
        contact_id=contact_id,
        campaign_id=send.campaign_id,
        link_id=link_id,
        timezones=send.timezones,
        window=PROMOTIONAL_WINDOW if send.type == "promotional" and not send.is_test else "",
        is_test=send.is_test,
        sender=send.sender,
        language=send.language,
    )
    return enqueue(session=session, message=message, now=clock.now())


@dataclass(frozen=True, slots=True)
class CampaignTestSend:
    """What a campaign's test send asks for: the number to send to, and the contact to
    personalize for (None: a sample person made up for tests)."""

    campaign_id: int
    phone: str
    contact_id: int | None = None
    variant: int | None = None  # an A/B test's variant (its index); None: the campaign's


def send_unitary(
    reading: Session,
    writing: Session,
    request: UnitaryMessage | CampaignTestSend,
    *,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
) -> Message:
    """A unitary send or a campaign's test send: rendered in `reading`, written in
    `writing` (flushes only)."""
    if isinstance(request, CampaignTestSend):
        send = prepare_test(session=reading, settings=settings, test=request)
    else:
        send = prepare_send(session=reading, settings=settings, message=request)
    return write_send(session=writing, clock=clock, settings=settings, codes=codes, send=send)


def _recipient(
    session: Session, settings: Settings, contact_id: int | None, phone: str | None
) -> Contact | str:
    """The contact, or the phone number of a contact to create."""
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.status == ERASED:  # erased: a tombstone, no one
            raise NotFound(f"no contact {contact_id}")
        return contact
    assert phone is not None
    number = parse_phone(phone, region=settings.default_region).e164
    return find_by_phone(session=session, phone=number) or number
