"""Campaigns: what is sent, to whom, when, from which number; approval; statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.errors import Conflict, Forbidden, InvalidInput, NotFound
from sender.models import (
    DELIVERED,
    ERROR,
    EXPIRED,
    FAILED,
    MESSAGE_TYPES,
    PLANNED,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    UNKNOWN,
    Campaign,
    ContactGroup,
    Message,
    Segment,
    SenderNumber,
)
from sender.scheduling import SCHEDULES, parse_day, parse_hhmm
from sender.templates import compile_template
from shortener.targets import build_target

# draft → (awaiting_approval → approved) → scheduled → planning → sending → done
EDITABLE = ("draft", "awaiting_approval", "approved")


@dataclass
class CampaignSpec:
    name: str
    type: str
    template: str
    target_url: str | None = None
    group_ids: Sequence[int] = ()
    segment_ids: Sequence[int] = ()
    one_per_phone: bool = True
    schedule: str = "now"
    send_at: datetime | None = None
    local_date: str | None = None
    local_time: str | None = None
    window_start: str = "08:00"
    window_end: str = "21:00"
    rate: float = 10.0
    sender_id: int | None = None
    refresh_audience: bool = True
    requires_approval: bool = False
    custom_fields: Sequence[str] = field(default_factory=tuple)


def known_custom_fields(session: Session) -> set[str]:
    """Every custom field some contact has: templates may use any of them."""
    if session.get_bind().dialect.name == "postgresql":
        query = "SELECT DISTINCT jsonb_object_keys(fields::jsonb) FROM contact"
    else:
        query = "SELECT DISTINCT j.key FROM contact, json_each(contact.fields) AS j"
    return {str(row[0]) for row in session.execute(text(query))}


def create_campaign(
    *, session: Session, clock: Clock, spec: CampaignSpec, created_by: int | None
) -> Campaign:
    _validate(session, spec)
    now = clock.now()
    campaign = Campaign(
        name=spec.name.strip(),
        type=spec.type,
        template=spec.template,
        target_url=build_target(spec.target_url) if spec.target_url else None,
        group_ids=list(spec.group_ids),
        segment_ids=list(spec.segment_ids),
        one_per_phone=spec.one_per_phone,
        schedule=spec.schedule,
        send_at=spec.send_at,
        local_date=spec.local_date,
        local_time=spec.local_time,
        window_start=spec.window_start,
        window_end=spec.window_end,
        rate=spec.rate,
        sender_id=spec.sender_id,
        refresh_audience=spec.refresh_audience,
        requires_approval=spec.requires_approval,
        status="awaiting_approval" if spec.requires_approval else "draft",
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.commit()
    return campaign


def _validate(session: Session, spec: CampaignSpec) -> None:
    if not spec.name.strip():
        raise InvalidInput("a campaign needs a name")
    if spec.type not in MESSAGE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(MESSAGE_TYPES)}")
    fields = known_custom_fields(session) | set(spec.custom_fields)
    template = compile_template(spec.template, custom_fields=fields)
    if template.uses_link and not spec.target_url:
        raise InvalidInput("the template has {{ link }}: give the campaign a target_url")
    if not spec.group_ids and not spec.segment_ids:
        raise InvalidInput("choose an audience: at least one group or segment")
    for model, ids, what in (
        (ContactGroup, spec.group_ids, "group"),
        (Segment, spec.segment_ids, "segment"),
    ):
        for item in ids:
            if session.get(model, item) is None:
                raise NotFound(f"no {what} {item}")
    if spec.schedule not in SCHEDULES:
        raise InvalidInput(f"schedule must be one of {', '.join(SCHEDULES)}")
    if spec.schedule == "at":
        if spec.send_at is None or spec.send_at.tzinfo is None:
            raise InvalidInput("schedule 'at' needs send_at with a time zone")
    if spec.schedule == "local":
        if spec.local_date is None or spec.local_time is None:
            raise InvalidInput("schedule 'local' needs local_date and local_time")
        parse_day(spec.local_date, "local_date")
        parse_hhmm(spec.local_time, "local_time")
    start = parse_hhmm(spec.window_start, "window_start")
    end = parse_hhmm(spec.window_end, "window_end")
    if start == end:
        raise InvalidInput("the sending window is empty: window_start equals window_end")
    if not 0 < spec.rate <= 10_000:
        raise InvalidInput("rate must be between 0 and 10000 messages per second")
    if spec.sender_id is not None:
        sender = session.get(SenderNumber, spec.sender_id)
        if sender is None:
            raise NotFound(f"no sender number {spec.sender_id}")
        if spec.type not in sender.allowed_types:
            raise InvalidInput(f"sender {sender.value} may not carry {spec.type} messages")


def get_campaign(*, session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def approve_campaign(
    *, session: Session, clock: Clock, campaign_id: int, approver: int | None
) -> Campaign:
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    if campaign.status != "awaiting_approval":
        raise Conflict(f"campaign {campaign_id} is {campaign.status}, not awaiting approval")
    if approver is None or approver == campaign.created_by:
        raise Forbidden("a second marketer must approve: the author cannot approve their own")
    campaign.status = "approved"
    campaign.approved_by = approver
    campaign.approved_at = clock.now()
    campaign.updated_at = clock.now()
    session.add(campaign)
    session.commit()
    return campaign


def list_campaigns(*, session: Session, status: str | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(col(Campaign.id).desc()).limit(500)
    if status is not None:
        query = query.where(col(Campaign.status) == status)
    return list(session.execute(query).scalars())


PRODUCED = (PLANNED, QUEUED, SENDING, SENT, DELIVERED, FAILED, EXPIRED, UNKNOWN, SKIPPED)


def campaign_stats(*, session: Session, campaign_id: int) -> dict[str, Any]:
    """Production and delivery counts; test sends are left out."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    rows = session.execute(
        select(col(Message.state), func.count(), func.coalesce(func.sum(col(Message.segments)), 0))
        .where(col(Message.campaign_id) == campaign_id, col(Message.is_test).is_(False))
        .group_by(col(Message.state))
    ).all()
    by_state = {state: int(count) for state, count, _ in rows}
    segments = sum(int(s) for state, _, s in rows if state in (SENT, DELIVERED, FAILED, UNKNOWN))
    count = by_state.get
    return {
        "campaign_id": campaign_id,
        "status": campaign.status,
        "production": {
            "produced": sum(by_state.get(s, 0) for s in PRODUCED),
            "errors": count(ERROR, 0),
            "remaining": count(PLANNED, 0) + count(QUEUED, 0) + count(SENDING, 0),
            "skipped": count(SKIPPED, 0),
        },
        "delivery": {
            "sent": count(SENT, 0) + count(DELIVERED, 0),
            "delivered": count(DELIVERED, 0),
            "failed": count(FAILED, 0),
            "expired": count(EXPIRED, 0),
            "unknown": count(UNKNOWN, 0),
            "segments_sent": segments,
        },
        "states": by_state,
    }


MESSAGE_TIMES = (
    "planned_at",
    "queued_at",
    "sending_at",
    "sent_at",
    "delivered_at",
    "failed_at",
    "expired_at",
    "unknown_at",
)


def campaign_messages(
    *, session: Session, campaign_id: int, after: int = 0, limit: int = 100
) -> list[Message]:
    """One page of a campaign's messages in id order: pass the last id as `after`."""
    get_campaign(session=session, campaign_id=campaign_id)
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    return list(
        session.execute(
            select(Message)
            .where(col(Message.campaign_id) == campaign_id, col(Message.id) > after)
            .order_by(col(Message.id))
            .limit(limit)
        ).scalars()
    )
