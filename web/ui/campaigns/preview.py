"""A campaign as one recipient gets it: their SMS (their language's text, from their
country's number, link and opt-out mention in place) beside their language's landing
page, in phone frames, for any contact of the audience (`CampaignVariants.choose`, the
rule planning applies). Nothing is recorded, assigned or sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from richsms.errors import RichsmsError
from richsms.settings import Settings
from sender.audience.selection import iter_audience
from sender.campaigns.models import Campaign
from sender.campaigns.variants import CampaignVariants
from web.context import context

SAMPLE_CODE = "Ab3dEf9hKmNp"


def sample_link(settings: Settings) -> str:
    """A stand-in personal link, as long as the real ones, for previews."""
    return settings.short_url + SAMPLE_CODE[: settings.link_code_length]
CHOICES = 50


@dataclass(frozen=True)
class RecipientPreview:
    choices: list[tuple[int, str]]  # (contact id, what the picker shows)
    contact_id: int | None
    sms: str | None
    problem: str | None
    language: str | None = None  # the language of the text they get
    sender: str = ""  # the number it comes from ("": the provider's default)
    page_id: int | None = None  # their language's page


def recipient_preview(
    request: Request,
    db: Session,
    campaign: Campaign,
    t: Callable[[str], str],
    reason: Callable[[str], str],
) -> RecipientPreview:
    """`reason` tells why a recipient is left out, in the viewer's words."""
    rows: list[tuple[Any, Any]] = list(
        islice(
            iter_audience(
                session=db, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
            ),
            CHOICES,
        )
    )
    choices = [
        (int(row.id), f"{fields.get('first_name') or ''} {row.phone}".strip())
        for row, fields in rows
    ]
    raw = request.query_params.get("as", "")
    wanted = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    chosen = next(((row, fields) for row, fields in rows if row.id == wanted), None)
    if chosen is None and rows:
        chosen = rows[0]
    if chosen is None:
        return RecipientPreview(choices, None, None, None)
    row, fields = chosen
    settings = context(request).settings
    try:
        variants = CampaignVariants(session=db, campaign=campaign, settings=settings)
        variant = variants.choose(row.language, row.phone)
        if isinstance(variant, str):  # no number of the campaign reaches them
            return RecipientPreview(choices, int(row.id), None, reason(variant))
        link = sample_link(settings)
        sms = variant.composer.compose(
            fields, language=variant.recipient_language, link=link
        ).text
    except RichsmsError as exc:
        return RecipientPreview(choices, int(row.id), None, exc.told(t))
    return RecipientPreview(
        choices,
        int(row.id),
        sms,
        None,
        language=variant.language,
        sender=variant.sender_value,
        page_id=variant.page_id,
    )
