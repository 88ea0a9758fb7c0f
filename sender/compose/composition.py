"""The one composition path: what a recipient receives, and what it costs.

Planning, unitary sends, test sends, automations and the analysis endpoint all build a
`Composer` and call `compose` for each recipient: the template rendered within its budget
with the recipient's merge fields and personal link, the opt-out mention in the
recipient's language naming the number the message is really sent from, the exact
encoding analysis, and the refusal of a message longer than `RICHSMS_MAX_SEGMENTS`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session

from richsms.errors import InvalidInput
from richsms.merge.fields import RenderBudget
from richsms.settings import Settings
from sender.audience.custom_fields import known_fields
from sender.campaigns.models import Campaign
from sender.compose.encoding import analyze
from sender.compose.optout_mention import OptOutTexts, append_mention, sender_mentions
from sender.compose.templates import (
    REPLIES,
    SMS_BUDGET,
    MessageTemplate,
    TemplateError,
    compile_template,
)
from sender.delivery.models import MESSAGE_TYPES, SenderNumber

# Only promotional messages carry the opt-out mention.
TYPES_WITH_OPT_OUT: Final = frozenset({"promotional"})
TOO_MANY_SEGMENTS: Final = "too_many_segments"


@dataclass(frozen=True, slots=True)
class Composed:
    """One recipient's message, measured exactly."""

    text: str
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    units: int
    segments: int


class Composer:
    """Composes the messages of one campaign, automation or unitary send."""

    def __init__(
        self,
        *,
        source: str,
        is_template: bool,
        type: str,
        sender: str | None,
        settings: Settings,
        custom_fields: Collection[str] = (),
        budget: RenderBudget = SMS_BUDGET,
        mentions: OptOutTexts | None = None,
        events: bool = False,
    ) -> None:
        """`source` is a template (`is_template`) or literal text; `sender` the number the
        message goes out from (None: the provider's default, named by the settings);
        `mentions` the opt-out mentions of that number (`optout_mention.sender_mentions`;
        None: the configured ones); `events`: the template may read an outside event's
        fields (`event.x`)."""
        if type not in MESSAGE_TYPES:
            raise InvalidInput(f"type must be one of {', '.join(MESSAGE_TYPES)}")
        self.source = source
        self.events = events and is_template
        self.type = type
        self.sender = sender
        self.max_segments = settings.max_segments
        self.budget = budget
        self.template: MessageTemplate | None = (
            compile_template(source, custom_fields=custom_fields, events=events)
            if is_template
            else None
        )
        self.opt_out: OptOutTexts | None = (
            (mentions or configured_mentions(settings)).naming(sender)
            if type in TYPES_WITH_OPT_OUT
            else None
        )
        self._link_length = len(settings.short_url) + settings.link_code_length

    @classmethod
    def for_campaign(
        cls, *, session: Session, campaign: Campaign, settings: Settings
    ) -> Composer:
        return cls.saved(
            session=session,
            template=campaign.template,
            type=campaign.type,
            settings=settings,
            sender_id=campaign.sender_id,
        )

    @classmethod
    def saved(
        cls,
        *,
        session: Session,
        template: str,
        type: str,
        settings: Settings,
        sender_id: int | None = None,
        declared: Collection[str] = (),
        events: bool = False,
    ) -> Composer:
        """A saved template's composer (a campaign's, an automation's, the library's): it
        may use the custom fields contacts have and those it `declared` (and an outside
        event's fields, with `events`). From `sender_id`, it carries that number's opt-out
        mention (its own, else its country's)."""
        number = session.get(SenderNumber, sender_id) if sender_id is not None else None
        return cls(
            source=template,
            is_template=True,
            type=type,
            sender=number.value if number is not None else None,
            settings=settings,
            custom_fields=known_fields(session) | set(declared),
            events=events,
            mentions=number_mentions(number, settings) if number is not None else None,
        )

    @property
    def uses_link(self) -> bool:
        return self.template is not None and self.template.uses_link

    @property
    def fields(self) -> tuple[str, ...]:
        """The contact fields the message reads, in order of first use."""
        return self.template.fields if self.template is not None else ()

    @property
    def reply_campaigns(self) -> tuple[int, ...]:
        """The campaigns whose reply choices the message reads (`reply.campaign_<id>`):
        each recipient's answers go among their fields (`with_answers`)."""
        return self.template.reply_campaigns if self.template is not None else ()

    @property
    def event_fields(self) -> tuple[str, ...]:
        """The outside event's fields the message reads (`event.x`), in order of first use."""
        return self.template.event_fields if self.template is not None else ()

    def mention(self, language: object) -> str | None:
        """The opt-out mention for a recipient speaking `language`, if the type has one."""
        return self.opt_out.for_language(language) if self.opt_out is not None else None

    def text(
        self,
        fields: Mapping[str, object],
        *,
        language: object,
        link: str,
        event: Mapping[str, object] | None = None,
    ) -> str:
        """The message's text, not yet measured; TemplateError if the render fails."""
        body = (
            self.template.render(fields, link, budget=self.budget, event=event)
            if self.template is not None
            else self.source
        )
        mention = self.mention(language)
        return append_mention(body, mention) if mention is not None else body

    def compose(
        self,
        fields: Mapping[str, object],
        *,
        language: object,
        link: str,
        event: Mapping[str, object] | None = None,
    ) -> Composed:
        """The message for one recipient. TemplateError if the render fails or goes past
        its budget; InvalidInput (`too_many_segments`) past RICHSMS_MAX_SEGMENTS."""
        return self._measure(self.text(fields, language=language, link=link, event=event))

    def placeholder_link(self) -> str:
        """A stand-in for a personal link, as long as the real ones."""
        return "x" * self._link_length if self.uses_link else ""

    def check_sample(self, fields: Mapping[str, object], *, language: object) -> Composed:
        """Compose for `fields` with a stand-in link: what can be known before sending
        (an outside event's fields empty)."""
        event: dict[str, object] | None = {} if self.events else None
        return self.compose(fields, language=language, link=self.placeholder_link(), event=event)

    def check_at_save(self) -> None:
        """Refuse, when the message is saved, what would fail for every recipient: too
        many segments or a render past its budget, for a contact with empty fields (a
        failure that depends on a contact's values is that recipient's error later)."""
        for language in ("fr", "en"):
            try:
                self.check_sample({}, language=language)
            except TemplateError as error:
                if error.over_budget:
                    raise

    def draft(
        self,
        fields: Mapping[str, object],
        *,
        language: object,
        event: Mapping[str, object] | None = None,
    ) -> Draft:
        """Render and check now, before the link exists; `Draft.finish(link)` then only
        puts the link in. On SQLite the link is issued under the write lock: rendering
        first keeps that lock short. `event`: an outside event's data (`event.x`)."""
        if not self.uses_link:
            ready = self.compose(fields, language=language, link="", event=event)
            return Draft(self, fields, language, ready, event=event)
        size = self._link_length
        first, second = ("ab" * size)[:size], ("cd" * size)[:size]
        with_first = self.text(fields, language=language, link=first, event=event)
        with_second = self.text(fields, language=language, link=second, event=event)
        placeholder = self.placeholder_link()
        sample = with_first.replace(first, placeholder)
        # The link only printed as it is (not through a filter) can be put in later.
        verbatim = first in with_first and sample == with_second.replace(second, placeholder)
        self._measure(sample)  # too long already with a link of the usual length
        return Draft(
            self, fields, language, None, with_first if verbatim else None, first, event=event
        )

    def _measure(self, text: str) -> Composed:
        result = analyze(text)
        if result.segments > self.max_segments:
            raise InvalidInput(
                f"the message would be {result.segments} SMS segments long "
                f"({result.characters} characters, {result.encoding}): at most "
                f"{self.max_segments} are sent (RICHSMS_MAX_SEGMENTS)",
                code=TOO_MANY_SEGMENTS,
            )
        return Composed(text, result.encoding, result.characters, result.units, result.segments)


@dataclass(frozen=True, slots=True)
class Draft:
    """A message rendered before its link was issued (see `Composer.draft`)."""

    composer: Composer
    fields: Mapping[str, object]
    language: object
    ready: Composed | None  # no link: the message as it will be sent
    with_marker: str | None = None  # the text with `marker` where the link goes
    marker: str = ""
    event: Mapping[str, object] | None = None  # an outside event's data (`event.x`)

    def finish(self, link: str) -> Composed:
        if self.ready is not None:
            return self.ready
        if self.with_marker is not None:
            return self.composer._measure(self.with_marker.replace(self.marker, link))
        # The template transforms the link: render again now that it exists.
        return self.composer.compose(
            self.fields, language=self.language, link=link, event=self.event
        )


def configured_mentions(settings: Settings) -> OptOutTexts:
    """The opt-out mentions the settings configure (RICHSMS_OPT_OUT_EN, _FR)."""
    return OptOutTexts(en=settings.opt_out_en, fr=settings.opt_out_fr)


def number_mentions(number: SenderNumber, settings: Settings) -> OptOutTexts:
    """The opt-out mentions of a sender number: its own, else its country's, else the
    configured ones (not yet naming it)."""
    return sender_mentions(
        country=number.country, own=number.opt_out or {}, defaults=configured_mentions(settings)
    )


def sender_number(session: Session, sender_id: int | None) -> str | None:
    """The number (or alphanumeric id) of a sender, None for the provider's default."""
    if sender_id is None:
        return None
    sender = session.get(SenderNumber, sender_id)
    return sender.value if sender is not None else None


def with_answers(
    fields: Mapping[str, object], answers: Mapping[str, str]
) -> dict[str, object]:
    """A recipient's merge fields with their answers to reply choices ({"campaign_12":
    "OUI"}), which a template reads as `reply.campaign_12`."""
    return {**fields, REPLIES: answers}
