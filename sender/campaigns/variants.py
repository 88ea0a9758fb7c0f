"""A campaign's variants: what each recipient gets, chosen in one place.

A recipient's variant is the text and page of their language (the campaign's translation,
else its main language) and the sender number of their number's country, with that
number's opt-out mention. Planning, the send summary, test sends and previews all ask
`CampaignVariants.choose`; a recipient no number of the campaign can reach is left out
with the reason ("no sender number for BE").

Which number: among the campaign's `sender_ids`, the first of the recipient's country,
else the first without a country (it serves any), else the campaign's default sender;
a campaign with no number at all sends from the provider's default, as always.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session, col, select

from richsms.settings import Settings
from sender.audience.custom_fields import known_fields
from sender.audience.recipient_locale import recipient_country, recipient_language
from sender.campaigns.models import CampaignShape
from sender.compose.composition import Composer, configured_mentions
from sender.compose.optout_mention import sender_mentions
from sender.delivery.models import SenderNumber

NO_SENDER: Final = "no sender number for {country}"


@dataclass(frozen=True, slots=True)
class SenderLine:
    """A sender number as a variant needs it."""

    id: int
    value: str
    country: str | None
    opt_out: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Text:
    """One language's message: its template and its page (None: no page)."""

    language: str
    template: str
    page_id: int | None


@dataclass(frozen=True, slots=True)
class Variant:
    """What one recipient gets: the text of `language`, from `sender` (None: the
    provider's default), composed by `composer` (with that number's mention)."""

    text: Text
    sender: SenderLine | None
    composer: Composer
    recipient_language: str  # the recipient's own: the opt-out mention's language

    @property
    def language(self) -> str:
        return self.text.language

    @property
    def page_id(self) -> int | None:
        return self.text.page_id

    @property
    def sender_value(self) -> str:
        return self.sender.value if self.sender is not None else ""


def campaign_texts(campaign: CampaignShape) -> dict[str, Text]:
    """The campaign's text per language: the main one first, then its translations (a
    translation without a page shows the main page)."""
    texts = {campaign.language: Text(campaign.language, campaign.template, campaign.page_id)}
    for language, translation in sorted((campaign.translations or {}).items()):
        if language == campaign.language:
            continue
        page = translation.get("page_id")
        texts[language] = Text(
            language, str(translation.get("template", "")), page if page else campaign.page_id
        )
    return texts


def campaign_sender_ids(campaign: CampaignShape) -> list[int]:
    """The campaign's numbers: `sender_ids`, or its `sender_id` alone."""
    if campaign.sender_ids:
        return list(campaign.sender_ids)
    return [campaign.sender_id] if campaign.sender_id is not None else []


def sender_lines(session: Session, ids: list[int]) -> dict[int, SenderLine]:
    if not ids:
        return {}
    rows = session.exec(select(SenderNumber).where(col(SenderNumber.id).in_(ids))).all()
    return {
        row.id: SenderLine(row.id, row.value, row.country, dict(row.opt_out or {}))
        for row in rows
        if row.id is not None
    }


class CampaignVariants:
    """Every variant of one campaign, composed once each as recipients need them."""

    def __init__(
        self,
        *,
        session: Session,
        campaign: CampaignShape,
        settings: Settings,
        custom_fields: set[str] | None = None,
    ) -> None:
        self.type = campaign.type
        self.settings = settings
        self.default_region = settings.default_region
        self.texts = campaign_texts(campaign)
        self.main = self.texts[campaign.language]
        ids = campaign_sender_ids(campaign)
        extra = [campaign.default_sender_id] if campaign.default_sender_id is not None else []
        lines = sender_lines(session, ids + extra)
        senders = [lines[i] for i in ids if i in lines]
        self.by_country: dict[str, SenderLine] = {}
        for line in senders:
            if line.country:
                self.by_country.setdefault(line.country, line)
        self.anywhere = next((line for line in senders if not line.country), None)
        self.default = lines.get(extra[0]) if extra else None
        self.has_senders = bool(senders) or self.default is not None
        self.custom_fields = custom_fields if custom_fields is not None else known_fields(session)
        self._composers: dict[tuple[str, int | None], Composer] = {}

    def composer(self, text: Text, sender: SenderLine | None) -> Composer:
        key = (text.language, sender.id if sender is not None else None)
        found = self._composers.get(key)
        if found is None:
            mentions = (
                sender_mentions(
                    country=sender.country,
                    own=sender.opt_out,
                    defaults=configured_mentions(self.settings),
                )
                if sender is not None
                else None
            )
            found = self._composers[key] = Composer(
                source=text.template,
                is_template=True,
                type=self.type,
                sender=sender.value if sender is not None else None,
                settings=self.settings,
                custom_fields=self.custom_fields,
                mentions=mentions,
            )
        return found

    def language_of(self, language: str | None, phone: str) -> str:
        """The recipient's language (the contact's own, else their number's)."""
        return recipient_language(language, phone, self.default_region)

    def sender_for(self, phone: str) -> SenderLine | None | str:
        """The number `phone` gets its message from; None: the provider's default (the
        campaign names none); a string: why none can reach it."""
        if not self.has_senders:
            return None
        country = recipient_country(phone)
        line = self.by_country.get(country or "") or self.anywhere or self.default
        if line is None:
            return NO_SENDER.format(country=country or "an unknown country")
        return line

    def choose(self, language: str | None, phone: str) -> Variant | str:
        """The recipient's variant, or why they are left out (see the module docstring)."""
        spoken = self.language_of(language, phone)
        sender = self.sender_for(phone)
        if isinstance(sender, str):
            return sender
        text = self.texts.get(spoken, self.main)
        return Variant(text, sender, self.composer(text, sender), spoken)

    def variants(self) -> list[Variant]:
        """Every text from every number (the analysis of each, whoever gets it)."""
        senders = [*self.by_country.values(), self.anywhere, self.default]
        unique = {s.id: s for s in senders if s is not None}
        reachable: list[SenderLine | None] = [*unique.values()] or [None]
        return [
            Variant(text, sender, self.composer(text, sender), text.language)
            for text in self.texts.values()
            for sender in reachable
        ]

    @property
    def uses_link(self) -> bool:
        return any(self.composer(text, None).uses_link for text in self.texts.values())


def translation_fields(translations: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Translations as stored: {language: {"template": ..., "page_id": ...}}."""
    stored: dict[str, dict[str, Any]] = {}
    for language, translation in translations.items():
        data = translation if isinstance(translation, Mapping) else dict(translation)
        stored[str(language)] = {
            "template": data.get("template", ""),
            "page_id": data.get("page_id"),
        }
    return stored
