"""The campaigns API's bodies and answers (the OpenAPI document is built from them)."""

from __future__ import annotations

from copy import copy
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, create_model
from pydantic.fields import FieldInfo

from richsms.settings import MAX_CAP_DAYS, MAX_CAP_MESSAGES, MAX_GAP_HOURS
from richsms.types import Flag, Id
from sender.campaigns.ab.spec import AbTestSpec
from sender.campaigns.campaign import MESSAGE_TIMES, CampaignSpec
from sender.campaigns.choices import MAX_CHOICES, MAX_FOLLOW_UP_MINUTES, MAX_REPLY
from sender.campaigns.models import Campaign
from sender.campaigns.planner import Progress
from sender.delivery.models import Message

MessageType = Literal["promotional", "informational", "administrative"]
Language = Literal["fr", "en"]


class TranslationIn(BaseModel):
    """A campaign's message in another language; without `page_id`, the main page."""

    model_config = ConfigDict(extra="forbid")
    template: str = Field(max_length=5_000)
    page_id: Id | None = None


class TranslationOut(BaseModel):
    template: str
    page_id: int | None


class FollowUpIn(BaseModel):
    """Another message a choice starts, `after_minutes` after the reply."""

    model_config = ConfigDict(extra="forbid")
    template: str = Field(max_length=5_000)
    after_minutes: int = Field(0, ge=0, le=MAX_FOLLOW_UP_MINUTES)


class ChoiceIn(BaseModel):
    """One reply choice: the text sent back when a reply matches it, and the follow-up
    it starts."""

    model_config = ConfigDict(extra="forbid")
    reply: str | None = Field(None, max_length=MAX_REPLY)
    follow_up: FollowUpIn | None = None


# Reply choices by key (digits or a word: "1", "OUI", "YES"...), informational only.
Choices = dict[Annotated[str, Field(min_length=1, max_length=40)], ChoiceIn]


class FrequencyCapIn(BaseModel):
    """A campaign's own frequency cap, set by an approver: at most `max` promotional
    messages per `days` days to one contact, and none within `gap_hours` of another."""

    model_config = ConfigDict(extra="forbid")
    max: Annotated[int, Strict()] = Field(ge=1, le=MAX_CAP_MESSAGES)
    days: Annotated[int, Strict()] = Field(ge=1, le=MAX_CAP_DAYS)
    gap_hours: Annotated[int, Strict()] = Field(0, ge=0, le=MAX_GAP_HOURS)


FrequencyCapField = FrequencyCapIn | Literal["account"] | None
"""`"account"` (the default): the account's cap (RICHSMS_FREQUENCY_CAP); an object: the
campaign's own, set by an approver; null: no cap."""


# What the API adds to the campaign's shape (sender/campaigns/models.py): its enums where
# the shape has strings, strict ids and yes-or-no flags (richsms/types.py), and bounds
# checked before the domain sees a value (within what the database stores).
_TYPES: dict[str, Any] = {
    "type": MessageType,
    "schedule": Literal["now", "at", "local"],
    "group_ids": list[Id],
    "segment_ids": list[Id],
    "sender_id": Id | None,
    "sender_ids": list[Id],
    "default_sender_id": Id | None,
    "language": Language,
    "translations": dict[Language, TranslationIn],
    "page_id": Id | None,
    "one_per_phone": Flag,
    "refresh_audience": Flag,
    "requires_approval": Flag,
    "choices": Choices,
    "ab_test": AbTestSpec | None,
    "frequency_cap": FrequencyCapField,
}
_LIMITS: dict[str, FieldInfo] = {
    "name": Field(max_length=200),
    "template": Field(max_length=5_000),
    "target_url": Field(max_length=4096),
    "group_ids": Field(max_length=1000),
    "segment_ids": Field(max_length=1000),
    "rate": Field(gt=0, le=10_000),
    "custom_fields": Field(max_length=500),
    "sender_ids": Field(max_length=100),
    "choices": Field(max_length=MAX_CHOICES),
    "unmatched": Field(max_length=MAX_REPLY),
}


def _body_of(shape: type[BaseModel], name: str) -> type[BaseModel]:
    """`shape`'s fields with their defaults, each narrowed to what the API accepts."""
    fields: dict[str, Any] = {}
    for field_name, info in shape.model_fields.items():
        limits = _LIMITS.get(field_name)
        default = (
            Field(default_factory=info.default_factory)
            if info.default_factory is not None
            else Field(info.default)
        )
        merged = FieldInfo.merge_field_infos(default, limits) if limits is not None else default
        fields[field_name] = (_TYPES.get(field_name, info.annotation), merged)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


# The body of POST /api/campaigns: CampaignSpec's fields and defaults, nothing else.
CampaignIn = _body_of(CampaignSpec, "CampaignIn")


def _patch_of(body: type[BaseModel], name: str) -> type[BaseModel]:
    """`body`'s fields, each optional: those sent change, the others stay."""
    fields: dict[str, Any] = {}
    for field_name, info in body.model_fields.items():
        annotation: Any = info.annotation
        optional = copy(info)
        optional.default, optional.default_factory = None, None
        fields[field_name] = (annotation | None, optional)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


# The body of PATCH /api/campaigns/{id}: any of CampaignIn's fields.
CampaignPatch = _patch_of(CampaignIn, "CampaignPatch")


class ProgressOut(BaseModel):
    """The planning job's counters: recipients planned, left out (opted out or no
    consent), failed to render; `total` is the audience, null until counted."""

    planned: int
    excluded: int
    errors: int
    total: int | None


class CampaignOut(BaseModel):
    id: int
    name: str
    type: str
    status: str
    template: str
    language: str
    translations: dict[str, TranslationOut]
    target_url: str | None
    page_id: int | None
    group_ids: list[int]
    segment_ids: list[int]
    schedule: str
    send_at: datetime | None
    local_date: str | None
    local_time: str | None
    window_start: str
    window_end: str
    rate: float
    sender_id: int | None
    sender_ids: list[int]
    default_sender_id: int | None
    requires_approval: bool
    ab_test: AbTestSpec | None
    frequency_cap: dict[str, int] | str | None = Field(
        description='"account": the account\'s cap; an approver\'s {max, days, gap_hours}; '
        "null: no cap."
    )
    approved_at: datetime | None
    plan_at: datetime | None
    planned_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    failure: str | None
    choices: dict[str, dict[str, Any]] = Field(
        description="Reply choices by key, as stored (upper case, no accents)."
    )
    unmatched: str | None
    progress: ProgressOut
    created_at: datetime


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: int = Field(ge=0, le=3, description="The index of the variant to send.")


class DecisionOut(BaseModel):
    """The A/B test's decision: the variant the rest of the audience gets."""

    campaign: CampaignOut
    decision: str
    winner: int | None
    p_value: float | None
    interval: list[float | None]
class FrequencyCapSet(BaseModel):
    """The body of PUT /api/campaigns/{id}/frequency-cap."""

    model_config = ConfigDict(extra="forbid")
    frequency_cap: FrequencyCapField


class CancelOut(BaseModel):
    campaign: CampaignOut
    cancelled_messages: int


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=40)
    contact_id: Id | None = Field(
        None,
        description="Personalize the test for this contact; by default, for a sample "
        "person made up for tests (never for whoever owns `phone`).",
    )
    variant: int | None = Field(
        None, ge=0, le=3, description="An A/B tested campaign's variant to send (its index)."
    )


class MessageOut(BaseModel):
    id: int
    campaign_id: int | None
    contact_id: int | None
    phone: str
    text: str
    type: str
    state: str
    encoding: str
    segments: int
    is_test: bool
    due_at: datetime
    error: str | None
    times: dict[str, datetime | None]


class MessagePage(BaseModel):
    messages: list[MessageOut]
    next_after: int | None


class DepartureOut(BaseModel):
    """An instant (UTC) and how it reads on the wall clock of a recipient's zone."""

    at: datetime
    zone: str
    local: str = Field(description="Local date and time, YYYY-MM-DDTHH:MM, in `zone`.")


class HoldOut(BaseModel):
    """Recipients whose message waits (the quiet hours, or a time still ahead)."""

    recipients: int
    first: DepartureOut
    last: DepartureOut


class DeparturesOut(BaseModel):
    first: DepartureOut | None
    last: DepartureOut | None
    held: HoldOut | None = Field(description="Held by the quiet hours when sent now.")


class SegmentGroupOut(BaseModel):
    encoding: str
    segments: int
    recipients: int


class EncodingCostOut(BaseModel):
    encoding: str
    recipients: int
    segments: int
    cost: str


class SenderAudienceOut(BaseModel):
    sender: str = Field(description="The number's value; empty: the provider's default.")
    country: str | None
    recipients: int
    languages: dict[str, int]
    opt_out: dict[str, str] = Field(description="The opt-out mention each language gets.")


class SummaryOut(BaseModel):
    """What sending the campaign does, before anything leaves: the audience, who is
    excluded and why (the rule planning applies), the messages' segments and cost per
    encoding, first and last departure in recipients' local time, the quiet-hours hold,
    the opt-out mention per language; for a campaign sent, what still waits."""

    campaign_id: int
    status: str
    type: str
    audience: int
    excluded: dict[str, int] = Field(description="Recipients left out, by reason code.")
    excluded_total: int
    recipients: int
    errors: int = Field(description="Recipients whose message cannot be composed.")
    distribution: list[SegmentGroupOut]
    by_encoding: list[EncodingCostOut]
    total_segments: int
    cost: str
    currency: str
    window: str
    rate: float
    sending_seconds: int
    departures: DeparturesOut
    opt_out: dict[str, str] = Field(description="The opt-out mention, by language.")
    waiting: HoldOut | None
    languages: dict[str, int] = Field(
        description="Recipients by the language of the text they get."
    )
    senders: list[SenderAudienceOut] = Field(
        description="Recipients by the number they get their message from."
    )


class SenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["short_code", "long_code", "alphanumeric"]
    value: str = Field(max_length=20)
    rate: float = Field(gt=0, le=10_000)
    allowed_types: list[MessageType] = Field(min_length=1)
    country: str | None = Field(
        None, max_length=2, description="ISO 3166 alpha-2 code of its recipients' country."
    )
    opt_out: dict[Language, str] = Field(
        default_factory=dict,
        description="Its own opt-out mention per language (else its country's: CA and US "
        "'Reply STOP to opt out' / 'Répondez STOP pour vous désabonner', FR 'STOP au "
        "{sender}').",
    )


class SenderOut(BaseModel):
    id: int
    kind: str
    value: str
    rate: float
    allowed_types: list[str]
    country: str | None
    opt_out: dict[str, str]


def campaign_out(campaign: Campaign) -> CampaignOut:
    names = [name for name in CampaignOut.model_fields if name != "progress"]
    data = {name: getattr(campaign, name) for name in names}
    data["progress"] = Progress.of(campaign).as_dict()
    return CampaignOut.model_validate(data)


def message_out(message: Message) -> MessageOut:
    data = {name: getattr(message, name) for name in MessageOut.model_fields if name != "times"}
    data["times"] = {name: getattr(message, name) for name in MESSAGE_TIMES}
    return MessageOut.model_validate(data)
