"""Automations: a message on a date field (birthday, anniversary) or when a contact joins
a group (welcome), at the recipient's local hour, once per occurrence; or, for an `event`
automation, each time an outside event starts it (sender/campaigns/triggers.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.db import read_session, session_scope
from richsms.errors import InvalidInput, NotFound
from richsms.settings import Settings
from sender.audience.consent import refusal
from sender.audience.custom_fields import known_fields
from sender.audience.models import Contact, ContactGroup, GroupMember
from sender.campaigns.automation_message import Rendered, enqueue_rendered
from sender.campaigns.choices import checked_choices
from sender.campaigns.models import Automation, AutomationRun
from sender.campaigns.scheduling import first_zone, local_instant, parse_hhmm, zone
from sender.campaigns.triggers import EVENT_KIND, new_salt
from sender.compose.composition import Composer, Draft
from sender.delivery.choice_replies import fields_with_answers
from sender.delivery.models import MESSAGE_TYPES
from shortener.codes import CodeMaker
from shortener.targets import build_target

KINDS = ("date_field", "group_join", EVENT_KIND)
_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),  # 1990-04-17
    re.compile(r"^(?P<d>\d{1,2})[/.](?P<m>\d{1,2})(?:[/.](?P<y>\d{2,4}))?$"),  # 17/04/1990
    re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),  # 04-17
)
# Welcome messages for members who joined longer ago than this are not sent any more.
JOIN_HORIZON = timedelta(days=7)
# Messages written per transaction: the SQLite write lock is free again within milliseconds.
WRITE_CHUNK = 500


def create_automation(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    name: str,
    kind: str,
    template: str,
    type: str,
    date_field: str | None = None,
    group_id: int | None = None,
    target_url: str | None = None,
    local_time: str = "10:00",
    custom_fields: Sequence[str] = (),
    per_minute: int | None = None,
    choices: Mapping[str, Any] | None = None,
    unmatched: str | None = None,
) -> Automation:
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if type not in MESSAGE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(MESSAGE_TYPES)}")
    if not name.strip():
        raise InvalidInput("an automation needs a name")
    parse_hhmm(local_time, "local_time")
    events = kind == EVENT_KIND
    composer = Composer.saved(
        session=session,
        template=template,
        type=type,
        settings=settings,
        declared=custom_fields,
        events=events,
    )
    composer.check_at_save()
    offered, unmatched = checked_choices(
        choices=choices or {}, unmatched=unmatched, type=type, settings=settings,
        custom_fields=known_fields(session) | set(custom_fields),
    )  # fmt: skip
    if composer.uses_link and not target_url:
        raise InvalidInput("the template has {{ link }}: give the automation a target_url")
    if kind == "date_field" and not date_field:
        raise InvalidInput("a date_field automation needs the name of its date field")
    if kind == "group_join" and group_id is None:
        raise NotFound(f"no group {group_id}")
    if group_id is not None and session.get(ContactGroup, group_id) is None:
        raise NotFound(f"no group {group_id}")
    if per_minute is not None and not (events and 1 <= per_minute <= 60_000):
        raise InvalidInput("per_minute: an event automation's rate, 1 to 60000 messages a minute")
    automation = Automation(
        name=name.strip(),
        kind=kind,
        template=template,
        type=type,
        date_field=date_field,
        group_id=group_id,
        local_time=local_time,
        created_at=clock.now(),
        target_url=build_target(target_url) if target_url else None,
        hook_salt=new_salt() if events else None,
        per_minute=per_minute,
        choices=offered,
        unmatched=unmatched,
    )
    session.add(automation)
    session.flush()
    return automation


def month_day(value: object) -> tuple[int, int] | None:
    """(month, day) of a date written in any of the usual ways, or None."""
    text = str(value or "").strip()
    for pattern in _DATE_FORMATS:
        match = pattern.match(text)
        if match is not None:
            month, day = int(match["m"]), int(match["d"])
            if 1 <= month <= 12 and 1 <= day <= 31:
                return month, day
    return None


def is_anniversary(on: tuple[int, int], today: date) -> bool:
    """29 February is celebrated on 28 February in common years."""
    if on == (today.month, today.day):
        return True
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return on == (2, 29) and not leap and (today.month, today.day) == (2, 28)


def run_automations(*, engine: Engine, clock: Clock, settings: Settings, codes: CodeMaker) -> int:
    """Enqueue every automation message due today; returns how many were enqueued.

    A job step of its own: for each automation, the due messages are found and rendered
    in a read-only session (no write lock on SQLite), then written in short units."""
    with read_session(engine) as session:
        automations = list(
            session.execute(
                select(Automation).where(
                    col(Automation.active).is_(True), col(Automation.kind) != EVENT_KIND
                )
            ).scalars()
        )
        fields = known_fields(session)
        session.expunge_all()  # kept as read: the read-only session ends with a rollback
    sent = 0
    for automation in automations:
        with read_session(engine) as session:
            due = _Runner(session, clock, settings, automation, fields).due()
            session.expunge_all()
        for start in range(0, len(due), WRITE_CHUNK):
            with session_scope(engine) as session:
                sent += write_due(
                    session=session,
                    clock=clock,
                    settings=settings,
                    codes=codes,
                    automation=automation,
                    due=due[start : start + WRITE_CHUNK],
                )
    return sent


@dataclass(frozen=True, slots=True)
class DueMessage:
    """One automation message found due and rendered, not yet written."""

    contact_id: int
    phone: str
    timezones: str
    occurrence: str
    due_at: datetime
    draft: Draft | None  # None: the template failed for this contact
    error: str = ""


class _Runner:
    def __init__(
        self,
        session: Session,
        clock: Clock,
        settings: Settings,
        automation: Automation,
        fields: frozenset[str],
    ) -> None:
        self.session = session
        self.automation = automation
        self.composer = Composer(
            source=automation.template,
            is_template=True,
            type=automation.type,
            sender=None,
            settings=settings,
            custom_fields=fields,
        )
        self.at: time = parse_hhmm(automation.local_time, "local_time")
        self.now = clock.now()

    def due(self) -> list[DueMessage]:
        found = self._dates() if self.automation.kind == "date_field" else self._joins()
        done = self._done({contact.id for contact, _, _ in found})
        return [
            self._draft(contact, occurrence, due)
            for contact, occurrence, due in found
            if (contact.id, occurrence) not in done
            and refusal(contact.status, contact.consent_type, self.automation.type) is None
        ]

    def _dates(self) -> list[tuple[Contact, str, datetime]]:
        name = self.automation.date_field or ""
        found = []
        # Only the contacts who have the field, streamed: not the whole table in memory.
        having = col(Contact.fields)[name].as_string().is_not(None)
        query = select(Contact).where(having).execution_options(yield_per=1_000)
        for contact in self.session.execute(query).scalars():
            on = month_day(contact.fields.get(name))
            if on is None:
                continue
            tz = first_zone(contact.timezones, "UTC")
            today = self.now.astimezone(zone(tz)).date()
            if is_anniversary(on, today):
                due = max(local_instant(today, self.at, tz), self.now)
                found.append((contact, str(today.year), due))
        return found

    def _joins(self) -> list[tuple[Contact, str, datetime]]:
        since = max(self.automation.created_at, self.now - JOIN_HORIZON)
        members = self.session.execute(
            select(Contact, col(GroupMember.added_at))
            .join(GroupMember, col(GroupMember.contact_id) == col(Contact.id))
            .where(
                col(GroupMember.group_id) == self.automation.group_id,
                col(GroupMember.added_at) >= since,
            )
        ).all()
        found = []
        for contact, added_at in members:
            tz = first_zone(contact.timezones, "UTC")
            local_day = added_at.astimezone(zone(tz)).date()
            due = local_instant(local_day, self.at, tz)
            if due < added_at:
                due = local_instant(local_day + timedelta(days=1), self.at, tz)
            found.append((contact, f"join:{added_at.isoformat()}", due))
        return found

    def _done(self, contact_ids: set[int | None]) -> set[tuple[int, str]]:
        if not contact_ids:
            return set()
        rows = self.session.execute(
            select(col(AutomationRun.contact_id), col(AutomationRun.occurrence)).where(
                col(AutomationRun.automation_id) == self.automation.id,
                col(AutomationRun.contact_id).in_([i for i in contact_ids if i is not None]),
            )
        )
        return {(int(contact_id), str(occurrence)) for contact_id, occurrence in rows}

    def _draft(self, contact: Contact, occurrence: str, due: datetime) -> DueMessage:
        assert contact.id is not None
        try:
            fields = fields_with_answers(self.session, self.composer, contact)
            draft: Draft | None = self.composer.draft(fields, language=contact.language)
            error = ""
        except InvalidInput as exc:  # the template failed, or too long, for this contact
            draft, error = None, exc.message
        return DueMessage(
            contact.id, contact.phone, contact.timezones, occurrence, due, draft, error
        )


def write_due(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    automation: Automation,
    due: list[DueMessage],
) -> int:
    """Enqueue rendered automation messages, each once per occurrence (flushes only).
    A contact whose message could not be produced gets an `error` message, as in
    planning: the failure shows, and is not retried every minute."""
    assert automation.id is not None
    now = clock.now()
    sent = 0
    for item in due:
        # A savepoint each: another runner may have taken this occurrence meanwhile.
        try:
            with session.begin_nested():
                rendered = Rendered(
                    item.phone,
                    item.contact_id,
                    item.timezones,
                    item.due_at,
                    item.draft,
                    item.error,
                    "contact",
                )
                [message] = enqueue_rendered(
                    session, clock, settings, codes, automation, [rendered], now
                )
                session.add(
                    AutomationRun(
                        automation_id=automation.id,
                        contact_id=item.contact_id,
                        occurrence=item.occurrence,
                        message_id=message.id,
                        created_at=now,
                    )
                )
                session.flush()
        except IntegrityError:
            continue
        sent += message.error is None
    return sent


