"""Triggers turned into messages: the chore loop's side of outside events (accepting them
is sender/campaigns/triggers.py). Each pending trigger is read and rendered in a
read-only session, a chunk at a time, through the same composition, consent rule,
frequency cap and outbox as every other message, its due time spaced at the
automation's rate (`per_minute`); the chunk is then written briefly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, bindparam, select, update
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.db import read_session, session_scope
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.consent import refusal
from sender.audience.contacts import ERASED, arriving_status, ensure_contact
from sender.audience.models import Contact
from sender.audience.phones import parse_phone
from sender.campaigns.automation_message import Rendered, enqueue_rendered
from sender.campaigns.models import Automation, AutomationTrigger
from sender.campaigns.triggers import ENQUEUED, FAILED, PENDING, SKIPPED
from sender.compose.composition import Composer, Draft
from sender.delivery.choice_replies import fields_with_answers
from sender.delivery.frequency_caps import (
    ACCOUNT,
    COUNTED_AT_PLANNING,
    FrequencyCap,
    campaign_cap,
    capped_among,
)
from sender.delivery.frequency_caps import REASON as CAPPED
from shortener.codes import CodeMaker

# Triggers turned into messages per transaction: the write lock is free again quickly.
CHUNK: Final = 200


@dataclass(frozen=True, slots=True)
class _Planned:
    """One pending trigger, read and rendered, not yet written."""

    trigger_id: int
    contact_id: int | None
    phone: str
    timezones: str
    draft: Draft | None
    reason: str | None  # skipped: why
    error: str | None  # failed: why


def frequency_refusals(
    *,
    session: Session,
    settings: Settings,
    contact_ids: Sequence[int],
    type: str,
    now: datetime,
) -> dict[int, str]:
    """The contacts the account's frequency cap keeps from another message of `type` now
    (sender/delivery/frequency_caps.py: promotional messages only), with the reason."""
    cap = campaign_cap(ACCOUNT, type=type, account=FrequencyCap.of_account(settings))
    held = capped_among(session, cap, {now: contact_ids}, COUNTED_AT_PLANNING)
    return dict.fromkeys(sorted(held), CAPPED)


def process_triggers(*, engine: Engine, clock: Clock, settings: Settings, codes: CodeMaker) -> int:
    """Turn pending triggers into messages; returns how many messages were enqueued.
    Each chunk is read and rendered in a read-only session, then written briefly."""
    with read_session(engine) as session:
        automation_ids = list(
            session.scalars(
                select(col(AutomationTrigger.automation_id))
                .where(col(AutomationTrigger.state) == PENDING)
                .distinct()
            )
        )
    enqueued = 0
    for automation_id in automation_ids:
        while True:
            with read_session(engine) as session:
                automation = session.get(Automation, automation_id)
                if automation is None or not automation.active:
                    break
                planned = _plan_chunk(session, clock, settings, automation)
                session.expunge_all()
            if not planned:
                break
            with session_scope(engine) as session:
                enqueued += _write_chunk(session, clock, settings, codes, automation, planned)
            if len(planned) < CHUNK:
                break
    return enqueued


def _plan_chunk(
    session: Session, clock: Clock, settings: Settings, automation: Automation
) -> list[_Planned]:
    triggers = list(
        session.scalars(
            select(AutomationTrigger)
            .where(
                col(AutomationTrigger.automation_id) == automation.id,
                col(AutomationTrigger.state) == PENDING,
            )
            .order_by(col(AutomationTrigger.id))
            .limit(CHUNK)
        )
    )
    if not triggers:
        return []
    composer = Composer.saved(
        session=session,
        template=automation.template,
        type=automation.type,
        settings=settings,
        events=True,
    )
    ids = {t.contact_id for t in triggers if t.contact_id is not None}
    phones = {t.phone for t in triggers if t.contact_id is None and t.phone}
    contacts = {c.id: c for c in session.scalars(select(Contact).where(col(Contact.id).in_(ids)))}
    by_phone = {
        c.phone: c for c in session.scalars(select(Contact).where(col(Contact.phone).in_(phones)))
    }
    capped = frequency_refusals(
        session=session,
        settings=settings,
        contact_ids=sorted(i for i in contacts if i is not None),
        type=automation.type,
        now=clock.now(),
    )
    planned = []
    for trigger in triggers:
        assert trigger.id is not None
        contact = (
            contacts.get(trigger.contact_id)
            if trigger.contact_id is not None
            else by_phone.get(trigger.phone or "")
        )
        if contact is not None and contact.status != ERASED:
            status, consent = contact.status, contact.consent_type
            fields, language = fields_with_answers(session, composer, contact), contact.language
            phone, zones, contact_id = contact.phone, contact.timezones, contact.id
        elif trigger.contact_id is not None:  # deleted or erased since it was accepted
            planned.append(_Planned(trigger.id, None, "", "", None, "the contact is gone", None))
            continue
        else:  # a new number: created (as it arrives), without consent
            parsed = parse_phone(trigger.phone or "", region=settings.default_region)
            status, consent = arriving_status(session=session, phone=parsed.e164), None
            phone, zones, language = parsed.e164, " ".join(parsed.timezones), parsed.language
            fields, contact_id = {"phone": phone, "language": language}, None
        reason = refusal(status, consent, automation.type)
        if reason is None and contact_id is not None:
            reason = capped.get(contact_id)
        if reason is not None:
            planned.append(_Planned(trigger.id, contact_id, phone, zones, None, reason, None))
            continue
        try:
            draft = composer.draft(fields, language=language, event=trigger.data)
            planned.append(_Planned(trigger.id, contact_id, phone, zones, draft, None, None))
        except InvalidInput as exc:  # the template failed, or too long, for this event
            planned.append(_Planned(trigger.id, contact_id, phone, zones, None, None, exc.message))
    return planned


def _write_chunk(
    session: Session,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    automation: Automation,
    planned: list[_Planned],
) -> int:
    """Write a chunk (flushes): each trigger taken once (another process may be at it),
    its contact created if new, its message enqueued at the automation's pace."""
    now = clock.now()
    taken = set(
        session.scalars(
            update(AutomationTrigger)
            .where(
                col(AutomationTrigger.id).in_([p.trigger_id for p in planned]),
                col(AutomationTrigger.state) == PENDING,
            )
            .values(state=ENQUEUED, processed_at=now)
            .returning(col(AutomationTrigger.id))
        )
    )
    held = session.get(Automation, automation.id)
    assert held is not None
    step = timedelta(minutes=1) / held.per_minute if held.per_minute else None
    slot = max(now, held.next_slot or now)
    outcomes: list[dict[str, object]] = []
    sending: list[tuple[_Planned, Rendered]] = []
    for item in planned:
        if item.trigger_id not in taken:
            continue
        if item.reason is not None:
            outcomes.append(_outcome(item.trigger_id, SKIPPED, item.reason, None, item.contact_id))
            continue
        contact_id = item.contact_id
        if contact_id is None:
            contact_id = ensure_contact(
                session=session, phone=item.phone, clock=clock, region=settings.default_region
            ).id
        due_at = slot if step else now
        rendered = Rendered(
            item.phone, contact_id, item.timezones, due_at, item.draft, item.error, "event"
        )
        sending.append((item, rendered))
        if step is not None and item.draft is not None:
            slot += step  # one that failed to render takes no slot: never sent
    messages = enqueue_rendered(
        session, clock, settings, codes, automation, [r for _, r in sending], clock.now()
    )
    enqueued = 0
    for (item, rendered), message in zip(sending, messages, strict=True):
        state = ENQUEUED if message.error is None else FAILED
        outcomes.append(
            _outcome(item.trigger_id, state, message.error, message.id, rendered.contact_id)
        )
        enqueued += message.error is None
    if step is not None:
        held.next_slot = slot
        session.add(held)
    if outcomes:
        session.connection().execute(
            update(AutomationTrigger)
            .where(col(AutomationTrigger.id) == bindparam("b_id"))
            .values(
                state=bindparam("b_state"),
                reason=bindparam("b_reason"),
                message_id=bindparam("b_message"),
                contact_id=bindparam("b_contact"),
            ),
            outcomes,
        )
    session.flush()
    return enqueued


def _outcome(
    trigger_id: int, state: str, reason: str | None, message_id: int | None, contact_id: int | None
) -> dict[str, object]:
    return {
        "b_id": trigger_id,
        "b_state": state,
        "b_reason": reason,
        "b_message": message_id,
        "b_contact": contact_id,
    }
