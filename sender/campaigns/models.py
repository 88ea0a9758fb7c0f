"""The campaigns' tables: campaigns and automations (and each automation's runs), and an
A/B test's recipients and outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from richsms.types import UTCDateTime, json_column


class CampaignShape(SQLModel):
    """A campaign as a marketer describes it: every field and its default, declared once.
    `Campaign` stores it with what the system adds; `CampaignSpec` (what `create_campaign`
    takes) and the API's body (web/api/campaign_bodies.py) are derived from it."""

    name: str = Field(sa_column=Column(String(200), nullable=False))
    type: str = Field(sa_column=Column(String(16), nullable=False))  # MESSAGE_TYPES
    template: str = Field(sa_column=Column(Text, nullable=False))
    # The language of `template` and `page_id`, and the translations of the message:
    # {"en": {"template": "...", "page_id": 12}} (page_id optional: else the main page).
    # Each recipient gets their language's translation, else the main one.
    language: str = Field(
        default="fr", sa_column=Column(String(8), nullable=False, server_default="fr")
    )
    translations: dict[str, dict[str, Any]] = Field(
        default_factory=dict, sa_column=json_column()
    )
    target_url: str | None = Field(default=None, sa_column=Column(Text))
    page_id: int | None = Field(default=None, sa_column=Column(Integer))
    group_ids: list[int] = Field(default_factory=list, sa_column=json_column())
    segment_ids: list[int] = Field(default_factory=list, sa_column=json_column())
    one_per_phone: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    schedule: str = Field(
        default="now", sa_column=Column(String(8), nullable=False)
    )  # now at local
    send_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    local_date: str | None = Field(default=None, sa_column=Column(String(10)))  # YYYY-MM-DD
    local_time: str | None = Field(default=None, sa_column=Column(String(5)))  # HH:MM
    # Messages are delivered only inside this window of the recipient's local time.
    window_start: str = Field(default="08:00", sa_column=Column(String(5), nullable=False))
    window_end: str = Field(default="21:00", sa_column=Column(String(5), nullable=False))
    rate: float = Field(default=10.0, sa_column=Column(Float, nullable=False))
    sender_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("sender_number.id"))
    )
    # The numbers it sends from: each recipient from the one of their number's country
    # (one without a country serves any); `sender_id` is the first (a one-number list).
    sender_ids: list[int] = Field(default_factory=list, sa_column=json_column())
    # Who a recipient with no number of their country gets their message from; without
    # it, they are left out ("no sender number for XX").
    default_sender_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("sender_number.id"))
    )
    refresh_audience: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    requires_approval: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # Reply choices (informational messages): {"OUI": {"reply": "...", "follow_up":
    # {"template": "...", "after_minutes": 0}}, ...}, and the answer to a reply matching
    # none of them, sent once (sender/delivery/choices.py).
    choices: dict[str, dict[str, Any]] = Field(default_factory=dict, sa_column=json_column())
    unmatched: str | None = Field(default=None, sa_column=Column(Text))
    # An A/B test (sender/campaigns/ab/spec.py, `AbTestSpec`), stored as validated JSON.
    ab_test: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # How many promotional messages its recipients may get (sender/delivery/frequency_caps.py):
    # "account" (the account's cap), {"max", "days", "gap_hours"} set by an approver, or
    # None for no cap.
    frequency_cap: dict[str, int] | str | None = Field(
        default="account",
        sa_column=Column(JSON, nullable=False, server_default='"account"'),
    )


class Campaign(CampaignShape, table=True):
    __tablename__ = "campaign"
    __table_args__ = (Index("ix_campaign_status", "status", "plan_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # See sender/campaigns/states.py: the statuses and the moves between them.
    status: str = Field(default="draft", sa_column=Column(String(20), nullable=False))
    created_by: int | None = Field(default=None, sa_column=Column(Integer))  # api_token.id
    approved_by: int | None = Field(default=None, sa_column=Column(Integer))
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    planned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The planning job (sender/planning_job.py): when it may start, how far it got (the
    # last contact id planned, committed with that batch's messages), its counters, and
    # which worker holds it until when (a lease: a dead worker's job is taken over).
    plan_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    planning_cursor: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    planned_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    excluded_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # Those excluded at planning, by reason ("no sender number for BE": 3).
    exclusions: dict[str, int] = Field(default_factory=dict, sa_column=json_column())
    error_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    total_count: int | None = Field(default=None, sa_column=Column(Integer))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    failure: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Automation(SQLModel, table=True):
    __tablename__ = "automation"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # date_field group_join
    date_field: str | None = Field(default=None, sa_column=Column(String(100)))
    group_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("contact_group.id"))
    )
    template: str = Field(sa_column=Column(Text, nullable=False))
    type: str = Field(sa_column=Column(String(16), nullable=False))
    target_url: str | None = Field(default=None, sa_column=Column(Text))
    local_time: str = Field(default="10:00", sa_column=Column(String(5), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # An `event` automation (started by outside events, sender/campaigns/triggers.py):
    # its signed webhook's secret is derived from the app's secret key and this salt
    # (never stored itself); at most `per_minute` of its messages fall due each minute,
    # the next one at `next_slot`.
    hook_salt: str | None = Field(default=None, sa_column=Column(String(64)))
    per_minute: int | None = Field(default=None, sa_column=Column(Integer))
    next_slot: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    # Reply choices, as a campaign's (sender/delivery/choices.py).
    choices: dict[str, dict[str, Any]] = Field(default_factory=dict, sa_column=json_column())
    unmatched: str | None = Field(default=None, sa_column=Column(Text))

class AutomationTrigger(SQLModel, table=True):
    """An outside event accepted for an `event` automation: stored when it arrives (the
    API answers 202), turned into a message by the chore loop. `idempotency_key` (the
    `Idempotency-Key` header, or the shop's webhook id) makes a repeated request find
    this row instead of adding one, for 24 hours."""

    __tablename__ = "automation_trigger"
    __table_args__ = (
        UniqueConstraint("automation_id", "idempotency_key"),
        Index("ix_automation_trigger_pending", "state", "automation_id", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    automation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("automation.id"), nullable=False)
    )
    contact_id: int | None = Field(default=None, sa_column=Column(Integer))
    phone: str | None = Field(default=None, sa_column=Column(String(20)))  # a contact to create
    data: dict[str, object] = Field(default_factory=dict, sa_column=json_column())
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(255)))
    request_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    state: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AutomationRun(SQLModel, table=True):
    """One row per (automation, contact, occurrence): the guard against sending twice."""

    __tablename__ = "automation_run"
    __table_args__ = (UniqueConstraint("automation_id", "contact_id", "occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    automation_id: int = Field(
        sa_column=Column(Integer, ForeignKey("automation.id"), nullable=False)
    )
    contact_id: int = Field(sa_column=Column(Integer, ForeignKey("contact.id"), nullable=False))
    occurrence: str = Field(sa_column=Column(String(32), nullable=False))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AbRecipient(SQLModel, table=True):
    """Each recipient of an A/B tested campaign and their variant (None: the rest of the
    audience, sent the winner), drawn once at planning and written with the batch's
    messages: a crash or a resume never draws again."""

    __tablename__ = "ab_recipient"
    __table_args__ = (Index("ix_ab_recipient_variant", "campaign_id", "variant", "contact_id"),)

    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaign.id"), primary_key=True)
    )
    contact_id: int = Field(sa_column=Column(Integer, primary_key=True))
    variant: int | None = Field(default=None, sa_column=Column(Integer))


class AbOutcome(SQLModel, table=True):
    """An A/B test's decision: when it is due, what the test showed (each variant's
    figures, the p-value and interval of the best variant against the next) and which
    variant the rest of the audience gets (None while waiting for the marketer)."""

    __tablename__ = "ab_outcome"

    campaign_id: int = Field(
        sa_column=Column(Integer, ForeignKey("campaign.id"), primary_key=True)
    )
    decide_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # winner (significant), fallback, waiting (for the marketer), chosen (by the marketer)
    decision: str | None = Field(default=None, sa_column=Column(String(16)))
    winner: int | None = Field(default=None, sa_column=Column(Integer))
    p_value: float | None = Field(default=None, sa_column=Column(Float))
    ci_low: float | None = Field(default=None, sa_column=Column(Float))
    ci_high: float | None = Field(default=None, sa_column=Column(Float))
    figures: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    decided_by: int | None = Field(default=None, sa_column=Column(Integer))
