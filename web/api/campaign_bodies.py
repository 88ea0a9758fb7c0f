"""The campaigns API's bodies and answers (the OpenAPI document is built from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from richsms.types import Flag, Id
from sender.campaigns.campaign import MESSAGE_TIMES
from sender.campaigns.models import Campaign
from sender.campaigns.planner import Progress
from sender.delivery.models import Message

MessageType = Literal["promotional", "informational", "administrative"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    type: MessageType
    template: str = Field(max_length=5_000)
    target_url: str | None = Field(None, max_length=4096)
    group_ids: list[Id] = Field(default_factory=list, max_length=1000)
    segment_ids: list[Id] = Field(default_factory=list, max_length=1000)
    one_per_phone: Flag = True
    schedule: Literal["now", "at", "local"] = "now"
    send_at: datetime | None = None
    local_date: str | None = None
    local_time: str | None = None
    window_start: str = "08:00"
    window_end: str = "21:00"
    rate: float = Field(10.0, gt=0, le=10_000)
    sender_id: Id | None = None
    refresh_audience: Flag = True
    requires_approval: Flag = False
    custom_fields: list[str] = Field(default_factory=list, max_length=500)
    page_id: Id | None = None


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
    requires_approval: bool
    approved_at: datetime | None
    plan_at: datetime | None
    planned_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    failure: str | None
    progress: ProgressOut
    created_at: datetime


class CancelOut(BaseModel):
    campaign: CampaignOut
    cancelled_messages: int


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=40)


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


class SenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["short_code", "long_code", "alphanumeric"]
    value: str = Field(max_length=20)
    rate: float = Field(gt=0, le=10_000)
    allowed_types: list[MessageType] = Field(min_length=1)


class SenderOut(BaseModel):
    id: int
    kind: str
    value: str
    rate: float
    allowed_types: list[str]


def campaign_out(campaign: Campaign) -> dict[str, Any]:
    names = [name for name in CampaignOut.model_fields if name != "progress"]
    data = {name: getattr(campaign, name) for name in names}
    data["progress"] = Progress.of(campaign).as_dict()
    return CampaignOut.model_validate(data).model_dump(mode="json")


def message_out(message: Message) -> dict[str, Any]:
    data = {name: getattr(message, name) for name in MessageOut.model_fields if name != "times"}
    data["times"] = {name: getattr(message, name) for name in MESSAGE_TIMES}
    return MessageOut.model_validate(data).model_dump(mode="json")
