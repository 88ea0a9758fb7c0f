"""Automations: a message on a date field (birthday, anniversary) or when a contact joins
a group (welcome), at the recipient's local hour, once per occurrence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.errors import InvalidInput, NotFound
from richsms.settings import Settings
from sender.campaigns import known_custom_fields
from sender.consent import refusal
from sender.contacts import contact_fields
from sender.models import (
    MESSAGE_TYPES,
    Automation,
    AutomationRun,
    Contact,
    ContactGroup,
    GroupMember,
)
from sender.optout import OptOutTexts, with_opt_out
from sender.outbox import enqueue
from sender.scheduling import first_zone, local_instant, parse_hhmm, zone
from sender.templates import MessageTemplate, compile_template
from shortener.codes import CodeMaker
from shortener.links import create_link
from shortener.targets import build_target

KINDS = ("date_field", "group_join")
_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),  # 1990-04-17
    re.compile(r"^(?P<d>\d{1,2})[/.](?P<m>\d{1,2})(?:[/.](?P<y>\d{2,4}))?$"),  # 17/04/1990
    re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),  # 04-17
)
# Welcome messages for members who joined longer ago than this are not sent any more.
JOIN_HORIZON = timedelta(days=7)


def create_automation(
    *,
    session: Session,
    clock: Clock,
    name: str,
    kind: str,
    template: str,
    type: str,
    date_field: str | None = None,
    group_id: int | None = None,
    target_url: str | None = None,
    local_time: str = "10:00",
    custom_fields: Sequence[str] = (),
) -> Automation:
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if type not in MESSAGE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(MESSAGE_TYPES)}")
    if not name.strip():
        raise InvalidInput("an automation needs a name")
    parse_hhmm(local_time, "local_time")
    compiled = compile_template(
        template, custom_fields=known_custom_fields(session) | set(custom_fields)
    )
    if compiled.uses_link and not target_url:
        raise InvalidInput("the template has {{ link }}: give the automation a target_url")
    if kind == "date_field" and not date_field:
        raise InvalidInput("a date_field automation needs the name of its date field")
    if kind == "group_join":
        if group_id is None or session.get(ContactGroup, group_id) is None:
            raise NotFound(f"no group {group_id}")
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
    )
    session.add(automation)
    session.commit()
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
    """Enqueue every automation message due today; returns how many were enqueued."""
    with Session(engine, expire_on_commit=False) as session:
        automations = list(
            session.execute(select(Automation).where(col(Automation.active).is_(True))).scalars()
        )
        fields = known_custom_fields(session)
        sent = 0
        for automation in automations:
            runner = _Runner(session, clock, settings, codes, automation, fields)
            sent += runner.run()
    return sent


class _Runner:
    def __init__(
        self,
        session: Session,
        clock: Clock,
        settings: Settings,
        codes: CodeMaker,
        automation: Automation,
        fields: set[str],
    ) -> None:
        self.session, self.clock, self.settings, self.codes = session, clock, settings, codes
        self.automation = automation
        self.template: MessageTemplate = compile_template(automation.template, custom_fields=fields)
        self.at: time = parse_hhmm(automation.local_time, "local_time")
        self.now = clock.now()

    def run(self) -> int:
        if self.automation.kind == "date_field":
            return self._dates()
        return self._joins()

    def _dates(self) -> int:
        name = self.automation.date_field or ""
        sent = 0
        for contact in self.session.execute(select(Contact)).scalars():
            on = month_day(contact.fields.get(name))
            if on is None:
                continue
            tz = first_zone(contact.timezones, "UTC")
            today = self.now.astimezone(zone(tz)).date()
            if is_anniversary(on, today):
                due = max(local_instant(today, self.at, tz), self.now)
                sent += self._send(contact, str(today.year), due)
        return sent

    def _joins(self) -> int:
        since = max(self.automation.created_at, self.now - JOIN_HORIZON)
        members = self.session.execute(
            select(Contact, col(GroupMember.added_at))
            .join(GroupMember, col(GroupMember.contact_id) == col(Contact.id))
            .where(
                col(GroupMember.group_id) == self.automation.group_id,
                col(GroupMember.added_at) >= since,
            )
        ).all()
        sent = 0
        for contact, added_at in members:
            tz = first_zone(contact.timezones, "UTC")
            local_day = added_at.astimezone(zone(tz)).date()
            due = local_instant(local_day, self.at, tz)
            if due < added_at:
                due = local_instant(local_day + timedelta(days=1), self.at, tz)
            sent += self._send(contact, f"join:{added_at.isoformat()}", due)
        return sent

    def _send(self, contact: Contact, occurrence: str, due: datetime) -> int:
        automation = self.automation
        assert automation.id is not None and contact.id is not None
        if refusal(contact.status, contact.consent_type, automation.type) is not None:
            return 0
        done = self.session.execute(
            select(col(AutomationRun.id)).where(
                col(AutomationRun.automation_id) == automation.id,
                col(AutomationRun.contact_id) == contact.id,
                col(AutomationRun.occurrence) == occurrence,
            )
        ).first()
        if done is not None:
            return 0
        text = self._text(contact)
        message = enqueue(
            session=self.session,
            phone=contact.phone,
            text=text,
            type=automation.type,
            now=self.now,
            due_at=due,
            contact_id=contact.id,
            automation_id=automation.id,
            timezones=contact.timezones,
            window="08:00-21:00" if automation.type == "promotional" else "",
        )
        self.session.add(
            AutomationRun(
                automation_id=automation.id,
                contact_id=contact.id,
                occurrence=occurrence,
                message_id=message.id,
                created_at=self.now,
            )
        )
        try:
            self.session.commit()
        except IntegrityError:  # another runner took this occurrence at the same moment
            self.session.rollback()
            return 0
        return 1

    def _text(self, contact: Contact) -> str:
        link = ""
        if self.template.uses_link and self.automation.target_url:
            issued = create_link(
                session=self.session,
                codes=self.codes,
                clock=self.clock,
                url=self.automation.target_url,
                contact_id=contact.id,
            )
            link = self.settings.short_url + issued.code
        values: dict[str, Any] = contact_fields(contact)
        body = self.template.render(values, link=link)
        if self.automation.type == "promotional":
            texts = OptOutTexts(en=self.settings.opt_out_en, fr=self.settings.opt_out_fr)
            body = with_opt_out(body, language=contact.language, texts=texts)
        return body
