"""What sending a campaign will do, said before anything leaves, and what a campaign that
was sent is still waiting for: the one summary the UI's confirmation page and
`GET /api/campaigns/{id}/summary` both show.

- Who: the audience, those the consent rule excludes by reason (the rule planning and the
  moment of sending apply, `sender.audience.consent.EXCLUSIONS`, counted in SQL), those
  the frequency cap would leave out now (`sender.delivery.frequency_caps`, the query
  planning runs per batch), and the recipients left.
- What: their messages measured exactly (the composer's analysis over those recipients),
  segments and cost per encoding, and the opt-out mention each language gets.
- When: each recipient's message is due as planning will write it (`scheduling.due_at`)
  and leaves at the first instant inside the quiet hours of their zones
  (`delivery.windows.next_allowed`); recipients are grouped by zone in SQL, so a million
  of them make a handful of groups. The summary says the first and last departure in the
  recipients' local time, and how many are held by the quiet hours until when.
- Waiting: a campaign already sent says how many of its messages wait, and until when.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, null, select
from sqlmodel import Session, col

from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.consent import EXCLUSIONS, exclusion_code
from sender.audience.models import Contact
from sender.audience.selection import audience_condition, iter_audience
from sender.campaigns.campaign import get_campaign
from sender.campaigns.models import Campaign
from sender.campaigns.scheduling import due_at, local_moment
from sender.campaigns.variants import CampaignVariants, Variant
from sender.compose.analysis import AudienceAnalysis, analyze_audience, combined
from sender.compose.composition import Composer
from sender.delivery.frequency_caps import CODE as CAP_CODE
from sender.delivery.frequency_caps import (
    COUNTED_AT_PLANNING,
    FrequencyCap,
    campaign_cap,
    capped,
)
from sender.delivery.models import PLANNED, QUEUED, Message
from sender.delivery.windows import next_allowed

# The analysis of the recipients' messages stops past this much rendering, in all.
RENDER_SECONDS: Final = 30.0


@dataclass(frozen=True, slots=True)
class Departure:
    """An instant, and how it reads on the wall clock of a recipient's zone."""

    at: datetime
    zone: str

    @property
    def local(self) -> datetime:
        return self.at.astimezone(ZoneInfo(self.zone))

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "zone": self.zone,
            "local": self.local.replace(tzinfo=None).isoformat(timespec="minutes"),
        }


@dataclass(frozen=True, slots=True)
class Hold:
    """Recipients whose message waits for the quiet hours to end, and when the first and
    last of them leave."""

    recipients: int
    first: Departure
    last: Departure

    def as_dict(self) -> dict[str, object]:
        return {
            "recipients": self.recipients,
            "first": self.first.as_dict(),
            "last": self.last.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Timing:
    first: Departure | None
    last: Departure | None
    hold: Hold | None

    def as_dict(self) -> dict[str, object]:
        return {
            "first": self.first.as_dict() if self.first else None,
            "last": self.last.as_dict() if self.last else None,
            "held": self.hold.as_dict() if self.hold else None,
        }


@dataclass(frozen=True, slots=True)
class EncodingCost:
    encoding: str
    recipients: int
    segments: int
    cost: Decimal

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"cost": str(self.cost)}


@dataclass(frozen=True, slots=True)
class SendSummary:
    campaign_id: int
    status: str
    type: str
    audience: int
    excluded: dict[str, int]  # exclusion code → recipients, every code of the type
    recipients: int  # the audience less the excluded: who gets a message
    analysis: AudienceAnalysis
    by_encoding: tuple[EncodingCost, ...]
    currency: str
    window: str
    rate: float
    sending_seconds: int  # at the campaign's rate, once the quiet hours allow
    timing: Timing
    opt_out: dict[str, str]  # language → the mention its recipients get
    waiting: Hold | None = None  # a sent campaign's messages still held
    languages: dict[str, int] = field(default_factory=dict)  # text language → recipients
    senders: tuple[SenderAudience, ...] = ()  # who each number sends to


    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "status": self.status,
            "type": self.type,
            "audience": self.audience,
            "excluded": self.excluded,
            "excluded_total": self.excluded_total,
            "recipients": self.recipients,
            "errors": self.analysis.errors,
            "distribution": [group.as_dict() for group in self.analysis.distribution],
            "by_encoding": [group.as_dict() for group in self.by_encoding],
            "total_segments": self.analysis.total_segments,
            "cost": str(self.analysis.estimated_cost),
            "currency": self.currency,
            "window": self.window,
            "rate": self.rate,
            "sending_seconds": self.sending_seconds,
            "departures": self.timing.as_dict(),
            "opt_out": self.opt_out,
            "waiting": self.waiting.as_dict() if self.waiting else None,
            "languages": self.languages,
            "senders": [sender.as_dict() for sender in self.senders],
        }


def send_summary(
    *, session: Session, settings: Settings, campaign_id: int, now: datetime
) -> SendSummary:
    """What sending the campaign now would do (reads only). For a campaign already sent,
    the same figures for its audience as it is now, and what its messages wait for."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    variants = CampaignVariants(session=session, campaign=campaign, settings=settings)
    cap = campaign_cap(
        campaign.frequency_cap, type=campaign.type, account=FrequencyCap.of_account(settings)
    )
    code = _exclusion(campaign, cap, now)
    excluded, zones, _languages = _audience_groups(session, campaign, code)
    if cap is not None:
        excluded.setdefault(CAP_CODE, 0)
    reach = _reach(session, campaign, variants, code)
    for reason, count in reach.excluded.items():
        excluded[reason] = count
    recipients = sum(zones.values()) - sum(reach.excluded.values())
    analysis = combined(
        [
            analyze_audience(
                _template(variant.composer),
                _fields_of(session, campaign, variants, key, code),
                link_length=len(settings.short_url) + settings.link_code_length,
                opt_out=variant.composer.opt_out,
                price_per_segment=settings.price_per_segment,
                max_segments=variant.composer.max_segments,
                max_render_seconds=RENDER_SECONDS,
            )
            for key, variant in reach.variants.items()
        ]
        or [_nobody(variants, settings)],
        settings.price_per_segment,
    )
    window = f"{campaign.window_start}-{campaign.window_end}"
    local = local_moment(campaign)
    timing = _timing(
        (
            (
                zone,
                due_at(
                    schedule=campaign.schedule,
                    send_at=campaign.send_at,
                    local=local,
                    timezones=zone,
                    now=now,
                ),
                count,
            )
            for zone, count in zones.items()
        ),
        window,
    )
    mentions = {
        language: mention
        for language, mention in sorted(reach.mentions.items())
        if mention is not None
    }
    return SendSummary(
        campaign_id=campaign_id,
        status=campaign.status,
        type=campaign.type,
        audience=recipients + sum(excluded.values()),
        excluded=excluded,
        recipients=recipients,
        analysis=analysis,
        by_encoding=_by_encoding(analysis, settings.price_per_segment),
        currency=settings.currency,
        window=window,
        rate=campaign.rate,
        sending_seconds=int(-(-recipients // campaign.rate)) if recipients else 0,
        timing=timing,
        opt_out=mentions,
        waiting=waiting_messages(session=session, campaign_id=campaign_id, now=now),
        languages=dict(sorted(reach.languages.items())),
        senders=tuple(sorted(reach.senders.values(), key=lambda s: s.sender)),
    )


@dataclass(slots=True)
class SenderAudience:
    """The recipients one number sends to ("" : the provider's default), by language,
    and the opt-out mention each language gets from it."""

    sender: str
    country: str | None
    recipients: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    opt_out: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "sender": self.sender,
            "country": self.country,
            "recipients": self.recipients,
            "languages": dict(sorted(self.languages.items())),
            "opt_out": dict(sorted(self.opt_out.items())),
        }


@dataclass
class Reach:
    """Where the audience's messages go: each variant's recipients, those no number of
    the campaign reaches by reason, per language and per number."""

    variants: dict[tuple[str, int | None], Variant] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    senders: dict[str, SenderAudience] = field(default_factory=dict)
    mentions: dict[str, str | None] = field(default_factory=dict)  # spoken → the first's


def _key(variant: Variant) -> tuple[str, int | None]:
    return variant.language, variant.sender.id if variant.sender is not None else None


def _reach(
    session: Session,
    campaign: Campaign,
    variants: CampaignVariants,
    exclusion: ColumnElement[Any],
) -> Reach:
    """One pass over the phones and languages of the recipients the consent rule and the
    frequency cap (`exclusion`) let through: each one's variant (the rule planning
    applies)."""
    reach = Reach()
    condition = and_(
        audience_condition(
            session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
        ),
        exclusion.is_(None),
    )
    for phone, language in session.execute(
        select(col(Contact.phone), col(Contact.language)).where(condition)
    ):
        variant = variants.choose(language, phone)
        if isinstance(variant, str):
            reach.excluded[variant] = reach.excluded.get(variant, 0) + 1
            continue
        reach.variants.setdefault(_key(variant), variant)
        reach.languages[variant.language] = reach.languages.get(variant.language, 0) + 1
        line = variant.sender
        value = variant.sender_value
        audience = reach.senders.get(value)
        if audience is None:
            audience = reach.senders[value] = SenderAudience(
                value, line.country if line is not None else None
            )
        audience.recipients += 1
        audience.languages[variant.language] = audience.languages.get(variant.language, 0) + 1
        mention = variant.composer.mention(variant.recipient_language)
        if mention is not None:
            audience.opt_out.setdefault(variant.recipient_language, mention)
        reach.mentions.setdefault(variant.recipient_language, mention)
    return reach


def _fields_of(
    session: Session,
    campaign: Campaign,
    variants: CampaignVariants,
    key: tuple[str, int | None],
    exclusion: ColumnElement[Any],
) -> Iterator[dict[str, object]]:
    """The merge fields of the recipients of one variant (those `exclusion` lets
    through), each with the language their opt-out mention is in."""
    for row, fields in iter_audience(
        session=session,
        group_ids=campaign.group_ids,
        segment_ids=campaign.segment_ids,
        where=exclusion.is_(None),
    ):
        variant = variants.choose(row.language, row.phone)
        if isinstance(variant, str) or _key(variant) != key:
            continue
        yield {**fields, "language": variant.recipient_language}


def _nobody(variants: CampaignVariants, settings: Settings) -> AudienceAnalysis:
    """The analysis of no recipient (an empty audience)."""
    composer = variants.composer(variants.main, None)
    return analyze_audience(
        _template(composer),
        (),
        link_length=len(settings.short_url) + settings.link_code_length,
        opt_out=composer.opt_out,
        price_per_segment=settings.price_per_segment,
    )


def waiting_messages(*, session: Session, campaign_id: int, now: datetime) -> Hold | None:
    """A campaign's messages not yet sent that may not leave now (the quiet hours, or a
    time still ahead), grouped in SQL by zone, window and due time: how many, and when
    the first and last of them leave. None when none waits."""
    rows = session.execute(
        select(
            col(Message.timezones),
            col(Message.window),
            col(Message.due_at),
            func.count(),
        )
        .where(
            col(Message.campaign_id) == campaign_id,
            col(Message.is_test).is_(False),
            col(Message.state).in_((PLANNED, QUEUED)),
        )
        .group_by(col(Message.timezones), col(Message.window), col(Message.due_at))
    ).all()
    held: list[tuple[Departure, int]] = []
    for zones, window, due, count in rows:
        leaves = _leaves(zones or "", max(due, now), window or "")
        if leaves is not None and leaves.at > now:
            held.append((leaves, int(count)))
    return _hold(held)


def _template(composer: Composer) -> Any:
    if composer.template is None:  # a campaign's message is always a template
        raise InvalidInput("the campaign has no message template")
    return composer.template


def _exclusion(
    campaign: Campaign, cap: FrequencyCap | None, now: datetime
) -> ColumnElement[Any]:
    """SQL over `contact`: why the campaign leaves the contact out (the consent rule's
    code, else the frequency cap's as of the campaign's send time), NULL when it does
    not."""
    consent = exclusion_code(campaign.type)
    if cap is None:
        return consent
    at = campaign.send_at if campaign.schedule == "at" and campaign.send_at else now
    capped_now = col(Contact.id).in_(capped(cap, at, COUNTED_AT_PLANNING, among=False))
    return case((consent.is_not(None), consent), (capped_now, literal(CAP_CODE)), else_=null())


def _audience_groups(
    session: Session, campaign: Campaign, exclusion: ColumnElement[Any]
) -> tuple[dict[str, int], dict[str, int], set[str]]:
    """One GROUP BY over the audience: the excluded by exclusion code (`exclusion`), the
    recipients left by zones, and the languages they speak."""
    code = exclusion.label("excluded")
    condition = audience_condition(
        session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
    )
    excluded = {e.code: 0 for e in EXCLUSIONS if campaign.type in e.types}
    zones: dict[str, int] = {}
    languages: set[str] = set()
    for reason, timezones, language, count in session.execute(
        select(code, col(Contact.timezones), col(Contact.language), func.count())
        .where(condition)
        .group_by(code, col(Contact.timezones), col(Contact.language))
    ).all():
        if reason is not None:
            excluded[reason] = excluded.get(reason, 0) + int(count)
            continue
        zones[timezones or ""] = zones.get(timezones or "", 0) + int(count)
        languages.add(language or "")
    return excluded, zones, languages


def _leaves(timezones: str, due: datetime, window: str) -> Departure | None:
    """When a message due at `due` leaves: the first instant inside `window` in every one
    of its zones; None when they never share one (the worker skips such a message)."""
    names = timezones.split()
    try:
        at = next_allowed(due, names, window)
    except InvalidInput:
        return None
    return Departure(at, names[0] if names else "UTC")


def _timing(groups: Iterable[tuple[str, datetime, int]], window: str) -> Timing:
    first: Departure | None = None
    last: Departure | None = None
    held: list[tuple[Departure, int]] = []
    for zones, due, count in groups:
        leaves = _leaves(zones, due, window)
        if leaves is None:
            continue
        if first is None or leaves.at < first.at:
            first = leaves
        if last is None or leaves.at > last.at:
            last = leaves
        if leaves.at > due:
            held.append((leaves, count))
    return Timing(first, last, _hold(held))


def _hold(held: Sequence[tuple[Departure, int]]) -> Hold | None:
    if not held:
        return None
    return Hold(
        recipients=sum(count for _, count in held),
        first=min((d for d, _ in held), key=lambda d: d.at),
        last=max((d for d, _ in held), key=lambda d: d.at),
    )


def _by_encoding(analysis: AudienceAnalysis, price: Decimal) -> tuple[EncodingCost, ...]:
    totals: dict[str, tuple[int, int]] = {}
    for group in analysis.distribution:
        recipients, segments = totals.get(group.encoding, (0, 0))
        totals[group.encoding] = (
            recipients + group.recipients,
            segments + group.segments * group.recipients,
        )
    return tuple(
        EncodingCost(encoding, recipients, segments, segments * price)
        for encoding, (recipients, segments) in sorted(totals.items())
    )


