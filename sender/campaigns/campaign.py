"""Campaigns: what is sent, to whom, when, from which number; approval, sending and
cancelling (through the state machine of sender/campaigns/states.py); their messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final, TypeVar

from pydantic import ValidationError
from sqlalchemy import and_, exists, select, update
from sqlmodel import Field, Session, col

from landing_templates.coupons import release_coupons
from landing_templates.models import Page
from landing_templates.pages import published_version
from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RichsmsError,
    described,
)
from richsms.settings import Settings
from sender.audience.custom_fields import known_fields
from sender.audience.models import ContactGroup, Segment
from sender.audience.recipient_locale import LANGUAGES
from sender.campaigns import states
from sender.campaigns.ab.spec import parse_ab_test, stored_ab_test, variant_changes
from sender.campaigns.choices import checked_choices
from sender.campaigns.models import Campaign, CampaignShape
from sender.campaigns.scheduling import SCHEDULES, parse_day, parse_hhmm, planning_time
from sender.campaigns.variants import CampaignVariants, translation_fields
from sender.compose.templates import compile_template
from sender.delivery.frequency_caps import ACCOUNT, checked_override
from sender.delivery.models import (
    CANCELLED,
    MESSAGE_TYPES,
    PENDING_STATES,
    PLANNED,
    QUEUED,
    Message,
    SenderNumber,
)
from shortener.targets import build_target

_T = TypeVar("_T")


class CampaignSpec(CampaignShape):
    """What `create_campaign` takes: the campaign's shape (sender/campaigns/models.py),
    and custom fields its template may name though no contact has them yet."""

    custom_fields: list[str] = Field(default_factory=list)


def known_custom_fields(session: Session) -> set[str]:
    """Every custom field some contact has: templates may use any of them."""
    return set(known_fields(session))


def create_campaign(
    *,
    session: Session,
    clock: Clock,
    spec: CampaignSpec,
    created_by: int | None,
    settings: Settings | None = None,
) -> Campaign:
    spec = _validate(session, spec, settings)
    now = clock.now()
    campaign = Campaign(
        **_stored(spec),
        status=states.initial_status(requires_approval=spec.requires_approval),
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def _stored(spec: CampaignSpec) -> dict[str, Any]:
    """The campaign's shape as stored: the name trimmed, the target URL built, its
    numbers a list whose first is `sender_id`."""
    shape = spec.model_dump(exclude={"custom_fields"})
    sender_ids = list(dict.fromkeys(spec.sender_ids))
    if not sender_ids and spec.sender_id is not None:
        sender_ids = [spec.sender_id]
    shape.update(
        name=spec.name.strip(),
        target_url=build_target(spec.target_url) if spec.target_url else None,
        translations=translation_fields(spec.translations),
        sender_ids=sender_ids,
        sender_id=sender_ids[0] if sender_ids else None,
        ab_test=stored_ab_test(spec.ab_test),
    )
    return shape


def campaign_spec(campaign: Campaign, **changes: Any) -> CampaignSpec:
    """What the campaign is, as `create_campaign` takes it, with `changes` over it. A
    change of `sender_id` alone is a one-number list; of `sender_ids`, its first."""
    if "sender_id" in changes and "sender_ids" not in changes:
        changes["sender_ids"] = [] if changes["sender_id"] is None else [changes["sender_id"]]
    elif "sender_ids" in changes and "sender_id" not in changes:
        changes["sender_id"] = (changes["sender_ids"] or [None])[0]
    shape = {name: getattr(campaign, name) for name in CampaignShape.model_fields}
    try:
        return CampaignSpec.model_validate({**shape, **changes})
    except ValidationError as exc:
        raise InvalidInput(described(exc, "the campaign")) from None


def check_editable(campaign: Campaign) -> Campaign:
    """The campaign if it may still be edited; Conflict once it is no longer a draft."""
    if campaign.status not in states.EDITABLE:
        raise Conflict(
            "campaign {id} is {status}: only a draft can be edited (duplicate it instead)",
            params={"id": campaign.id, "status": campaign.status},
        )
    return campaign


def edit_campaign(
    *,
    session: Session,
    clock: Clock,
    campaign_id: int,
    changes: Mapping[str, Any],
    settings: Settings | None = None,
) -> Campaign:
    """Change a draft campaign's fields (those in `changes`; the others stay), checked as
    at creation. Conflict for a campaign that is no longer a draft. Flushes."""
    campaign = check_editable(_locked(session, campaign_id))
    spec = _validate(session, campaign_spec(campaign, **changes), settings)
    for name, value in _stored(spec).items():
        setattr(campaign, name, value)
    status = states.initial_status(requires_approval=spec.requires_approval)
    if status != campaign.status:
        states.move(campaign, status, now=clock.now())
    campaign.updated_at = clock.now()
    session.add(campaign)
    session.flush()
    return campaign


def duplicate_campaign(
    *,
    session: Session,
    clock: Clock,
    campaign_id: int,
    created_by: int | None,
    name: str | None = None,
    settings: Settings | None = None,
) -> Campaign:
    """A new draft with the campaign's fields, whatever its status (`name`, default the
    original's followed by " (copy)"). Flushes."""
    original = get_campaign(session=session, campaign_id=campaign_id)
    copy_name = (name or f"{original.name} (copy)")[:200]
    # An approver's frequency cap was given to that campaign: the copy follows the account's.
    spec = campaign_spec(original, name=copy_name, frequency_cap=ACCOUNT)
    return create_campaign(
        session=session, clock=clock, spec=spec, created_by=created_by, settings=settings
    )


def _validate(
    session: Session, spec: CampaignSpec, settings: Settings | None = None
) -> CampaignSpec:
    """`spec` checked, as stored (its reply choices normalized); InvalidInput, NotFound."""
    if not spec.name.strip():
        raise InvalidInput("a campaign needs a name")
    if spec.type not in MESSAGE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(MESSAGE_TYPES)}")
    if spec.language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}")
    fields = known_custom_fields(session) | set(spec.custom_fields)
    texts = [("", spec.template, spec.page_id)]
    for language, translation in sorted(translation_fields(spec.translations).items()):
        where = f"translations.{language}"
        if language not in LANGUAGES:
            raise InvalidInput(f"{where}: a translation is in one of {', '.join(LANGUAGES)}")
        if language == spec.language:
            raise InvalidInput(f"{where}: {language} is the campaign's main language")
        texts.append((where, translation["template"], translation["page_id"] or spec.page_id))
    for where, source, page_id in texts:
        template = _checked(
            where and f"{where}.template", partial(compile_template, source, custom_fields=fields)
        )
        if template.uses_link and not spec.target_url and page_id is None:
            raise InvalidInput(
                (f"{where}: " if where else "")
                + "the template has {{ link }}: give the campaign a target_url or a page_id"
            )
        if page_id is not None and session.get(Page, page_id) is None:
            raise NotFound((f"{where}.page_id: " if where else "") + f"no page {page_id}")
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
    checked_override(spec.frequency_cap)  # InvalidInput naming the field
    if not 0 < spec.rate <= 10_000:
        raise InvalidInput("rate must be between 0 and 10000 messages per second")
    named = [*spec.sender_ids, spec.sender_id, spec.default_sender_id]
    for sender_id in dict.fromkeys(i for i in named if i is not None):
        sender = get_or_not_found(
            session, SenderNumber, sender_id, f"no sender number {sender_id}"
        )
        if spec.type not in sender.allowed_types:
            raise InvalidInput(f"sender {sender.value} may not carry {spec.type} messages")
    if settings is not None:  # too long, or a runaway template: refused when saved
        variants = CampaignVariants(
            session=session,
            campaign=CampaignShape.model_validate(_stored(spec)),
            settings=settings,
            custom_fields=fields,
        )
        for variant in variants.variants():
            language = variant.language
            main = language == spec.language
            where = "" if main else f"translations.{language}.template"
            _checked(where, variant.composer.check_at_save)
    if spec.ab_test is not None:
        _validate_variants(session, spec, settings)
    choices, unmatched = checked_choices(
        choices=spec.choices, unmatched=spec.unmatched, type=spec.type, settings=settings,
        custom_fields=fields,
    )  # fmt: skip
    return spec.model_copy(update={"choices": choices, "unmatched": unmatched})


def _checked(where: str, check: Callable[[], _T]) -> _T:
    """`check()`, its refusal naming the field it is about (`translations.en.template`)."""
    if not where:
        return check()
    try:
        return check()
    except RichsmsError as exc:
        exc.message = f"{where}: {exc.message}"
        exc.template, exc.params = exc.message, {}
        exc.args = (exc.message,)
        raise


def _validate_variants(session: Session, spec: CampaignSpec, settings: Settings | None) -> None:
    """Each variant of the A/B test checked as the campaign it sends (its template, page
    and send time over the campaign's); a problem names the variant's field."""
    assert spec.ab_test is not None
    test = parse_ab_test(spec.ab_test)
    for index in range(len(test.variants)):
        changes = variant_changes(test, index, translation_fields(spec.translations))
        variant = spec.model_copy(update={**changes, "ab_test": None})
        where = ", ".join(f"ab_test.variants.{index}.{name}" for name in changes)
        _checked(where, partial(_validate, session, variant, settings))
# Statuses in which an approver may still set a campaign's frequency cap: before planning.
CAP_SETTABLE: Final = (
    states.DRAFT,
    states.AWAITING_APPROVAL,
    states.APPROVED,
    states.SCHEDULED,
)


def sets_frequency_cap(changes: Mapping[str, Any]) -> bool:
    """Whether creating or editing a campaign with `changes` gives it a frequency cap of
    its own (or none): an approver's decision, refused to a marketer by the edges."""
    return "frequency_cap" in changes and changes["frequency_cap"] != ACCOUNT


def set_frequency_cap(
    *, session: Session, clock: Clock, campaign_id: int, frequency_cap: object
) -> Campaign:
    """An approver's frequency cap for one campaign (sender/delivery/frequency_caps.py):
    {"max", "days", "gap_hours"}, None for no cap, or "account" to follow the account's.
    Conflict once the campaign is being planned. Flushes."""
    campaign = _locked(session, campaign_id)
    if campaign.status not in CAP_SETTABLE:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.status}: its frequency cap can no longer change"
        )
    campaign.frequency_cap = checked_override(frequency_cap)
    campaign.updated_at = clock.now()
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(*, session: Session, campaign_id: int) -> Campaign:
    return get_or_not_found(session, Campaign, campaign_id, f"no campaign {campaign_id}")


def approve_campaign(
    *, session: Session, clock: Clock, campaign_id: int, approver: int | None
) -> Campaign:
    campaign = _locked(session, campaign_id)
    if campaign.status != states.AWAITING_APPROVAL:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}, not awaiting approval")
    if approver is None or approver == campaign.created_by:
        raise Forbidden("a second marketer must approve: the author cannot approve their own")
    now = clock.now()
    states.move(campaign, states.APPROVED, now=now, approved_by=approver, approved_at=now)
    session.add(campaign)
    session.flush()
    return campaign


def list_campaigns(*, session: Session, status: str | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(col(Campaign.id).desc()).limit(500)
    if status is not None:
        if status not in states.STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(states.STATUSES)}")
        query = query.where(col(Campaign.status) == status)
    return list(session.execute(query).scalars())


def request_send(*, session: Session, clock: Clock, campaign_id: int) -> Campaign:
    """Send a campaign: the one use case behind `POST /api/campaigns/{id}/send` and
    `richsms campaigns send`. Records the decision only: the campaign becomes `planning`
    (a job a worker claims at once) or `scheduled` (planned at `plan_at`, just before it
    sends, when its audience is to be evaluated then). Flushes; the caller commits."""
    campaign = _locked(session, campaign_id)
    if campaign.requires_approval and campaign.approved_at is None:
        raise Conflict(f"campaign {campaign_id} needs a second marketer's approval first")
    if campaign.status not in states.SENDABLE:
        raise Conflict(f"campaign {campaign_id} is {campaign.status}; it cannot be sent again")
    pages = {campaign.page_id} | {
        t.get("page_id") for t in (campaign.translations or {}).values()
    }
    for page_id in sorted(p for p in pages if p is not None):
        published_version(session=session, page_id=page_id)  # Conflict if not
    now = clock.now()
    plan_at = planning_time(campaign, now)
    states.move(
        campaign,
        states.PLANNING if plan_at is None else states.SCHEDULED,
        now=now,
        plan_at=plan_at or now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def cancel_campaign(*, session: Session, clock: Clock, campaign_id: int) -> tuple[Campaign, int]:
    """Stop a campaign: planning stops (the job sees the status at its next batch) and
    its messages not yet handed over become `cancelled`. Returns how many were."""
    campaign = _locked(session, campaign_id)
    now = clock.now()
    states.move(campaign, states.CANCELLED, now=now, claimed_by=None, claimed_until=None)
    session.add(campaign)
    session.flush()
    result = session.execute(
        update(Message)
        .where(
            col(Message.campaign_id) == campaign_id,
            col(Message.state).in_((PLANNED, QUEUED)),
            col(Message.is_test).is_(False),
        )
        .values(state=CANCELLED, error="the campaign was cancelled")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    # Coupons drawn at planning for messages that never left go back (issue 19: shown
    # under the next campaign with the page, they were counted for this one).
    never_sent = select(col(Message.contact_id)).where(
        col(Message.campaign_id) == campaign_id,
        col(Message.state) == CANCELLED,
        col(Message.is_test).is_(False),
    )
    release_coupons(session=session, campaign_id=campaign_id, contacts=never_sent)
    return campaign, int(getattr(result, "rowcount", 0) or 0)


def finish_sent_campaigns(*, session: Session, clock: Clock) -> list[int]:
    """Set-based: every `sending` campaign none of whose messages is still pending (every
    one in a final state) is `done`. Returns their ids; flushes."""
    pending = exists().where(
        col(Message.state).in_(PENDING_STATES),
        col(Message.campaign_id) == col(Campaign.id),
        col(Message.is_test).is_(False),
    )
    return states.move_where(
        session=session,
        current=states.SENDING,
        to=states.DONE,
        now=clock.now(),
        condition=and_(~pending),
    )


def _locked(session: Session, campaign_id: int) -> Campaign:
    return get_or_not_found(
        session, Campaign, campaign_id, f"no campaign {campaign_id}", for_update=True
    )


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
