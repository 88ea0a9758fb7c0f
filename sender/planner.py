"""Planning a campaign: every recipient's text rendered, their personal short link issued,
and the outbox written, in bulk batches (a million recipients is an ordinary campaign)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.errors import Conflict, NotFound
from richsms.settings import Settings
from sender.audience_select import iter_audience
from sender.campaigns import known_custom_fields
from sender.consent import refusal
from sender.encoding import analyze
from sender.models import ERROR, PLANNED, QUEUED, Campaign, Message
from sender.optout import OptOutTexts, with_opt_out
from sender.scheduling import first_zone, local_instant, parse_day, parse_hhmm
from sender.templates import MessageTemplate, TemplateError, compile_template
from shortener.codes import CodeMaker
from shortener.links import create_links

BATCH = 5_000
ANALYZE_AFTER = 10_000
PLANNABLE = ("draft", "approved", "scheduled")


@dataclass
class PlanReport:
    campaign_id: int
    planned: int = 0
    errors: int = 0
    excluded: int = 0  # opted out, or promotional without consent, when planning

    def as_dict(self) -> dict[str, int]:
        return {
            "campaign_id": self.campaign_id,
            "planned": self.planned,
            "errors": self.errors,
            "excluded": self.excluded,
        }


def check_sendable(campaign: Campaign, *, resume: bool = False) -> None:
    if campaign.requires_approval and campaign.approved_at is None:
        raise Conflict(f"campaign {campaign.id} needs a second marketer's approval first")
    allowed = (*PLANNABLE, "planning") if resume else PLANNABLE
    if campaign.status not in allowed:
        raise Conflict(f"campaign {campaign.id} is {campaign.status}; it cannot be sent again")


def start_planning(*, session: Session, campaign_id: int, resume: bool = False) -> Campaign:
    """Check the campaign may be planned now and mark it so, under a row lock, so that two
    simultaneous sends cannot both plan it."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}")
    check_sendable(campaign, resume=resume)
    campaign.status = "planning"
    session.add(campaign)
    session.commit()
    return campaign


def plan_campaign(
    *,
    engine: Engine,
    campaign_id: int,
    clock: Clock,
    settings: Settings,
    codes: CodeMaker,
    progress: Callable[[int], None] | None = None,
    resume: bool = False,
) -> PlanReport:
    """Render, link and enqueue every recipient. `resume` continues a planning that a
    crash interrupted: the recipients who already have their message are skipped."""
    with Session(engine, expire_on_commit=False) as session:
        campaign = start_planning(session=session, campaign_id=campaign_id, resume=resume)
        template = compile_template(campaign.template, custom_fields=known_custom_fields(session))
        done = _already_planned(session, campaign_id)
        report = PlanReport(campaign_id)
        job = _Job(campaign, template, clock.now(), settings)
        audience = iter_audience(
            session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
        )
        for batch in _batches(audience, BATCH):
            fresh = [(row, fields) for row, fields in batch if row.id not in done]
            rows = job.messages(session, codes, clock, fresh, report)
            if rows:
                session.execute(insert(Message), rows)
            session.commit()
            if progress is not None:
                progress(len(batch))
        campaign.status = "sending"
        campaign.planned_at = clock.now()
        campaign.updated_at = clock.now()
        session.add(campaign)
        session.commit()
        if report.planned >= ANALYZE_AFTER and engine.dialect.name == "postgresql":
            # Fresh statistics now, not when autovacuum gets to it: with stale ones the
            # workers' claim query sorts the whole outbox instead of reading its index.
            session.execute(text("ANALYZE message"))
            session.commit()
    return report


class _Job:
    """What stays the same for every recipient of one campaign."""

    def __init__(
        self, campaign: Campaign, template: MessageTemplate, now: datetime, settings: Settings
    ) -> None:
        assert campaign.id is not None
        self.campaign = campaign
        self.campaign_id = campaign.id
        self.template = template
        self.now = now
        self.prefix = settings.short_url
        self.opt_out = (
            OptOutTexts(en=settings.opt_out_en, fr=settings.opt_out_fr)
            if campaign.type == "promotional"
            else None
        )
        self.window = f"{campaign.window_start}-{campaign.window_end}"
        self.local: tuple[Any, Any] | None = None
        if campaign.schedule == "local":
            assert campaign.local_date is not None and campaign.local_time is not None
            self.local = (
                parse_day(campaign.local_date, "local_date"),
                parse_hhmm(campaign.local_time, "local_time"),
            )

    def due(self, timezones: str) -> datetime:
        if self.local is not None:
            return local_instant(self.local[0], self.local[1], first_zone(timezones))
        if self.campaign.schedule == "at" and self.campaign.send_at is not None:
            return max(self.campaign.send_at, self.now)
        return self.now

    def messages(
        self,
        session: Session,
        codes: CodeMaker,
        clock: Clock,
        batch: list[tuple[Any, dict[str, Any]]],
        report: PlanReport,
    ) -> list[dict[str, Any]]:
        eligible = []
        for row, fields in batch:
            if refusal(row.status, row.consent_type, self.campaign.type) is not None:
                report.excluded += 1
            else:
                eligible.append((row, fields))
        links: list[tuple[int | None, str]] = [(None, "")] * len(eligible)
        if self.template.uses_link and eligible:
            assert self.campaign.target_url is not None
            issued = create_links(
                session=session,
                codes=codes,
                clock=clock,
                url=self.campaign.target_url,
                contact_ids=[row.id for row, _ in eligible],
                campaign_id=self.campaign_id,
            )
            links = [(link.id, self.prefix + link.code) for link in issued]
        rows = []
        for (row, fields), (link_id, short_url) in zip(eligible, links, strict=True):
            rows.append(self._message(row, fields, link_id, short_url, report))
        return rows

    def _message(
        self,
        row: Any,
        fields: dict[str, Any],
        link_id: int | None,
        short_url: str,
        report: PlanReport,
    ) -> dict[str, Any]:
        due = self.due(row.timezones)
        message: dict[str, Any] = {
            "campaign_id": self.campaign_id,
            "automation_id": None,
            "contact_id": row.id,
            "phone": row.phone,
            "sender": "",
            "type": self.campaign.type,
            "link_id": link_id,
            "is_test": False,
            "due_at": due,
            "window": self.window,
            "timezones": row.timezones,
            "planned_at": self.now,
            "error": None,
            "queued_at": None,
            "provider_id": None,
            "claimed_by": None,
        }
        try:
            body = self.template.render(fields, link=short_url)
        except TemplateError as exc:
            report.errors += 1
            message.update(
                text="",
                encoding="GSM-7",
                segments=0,
                state=ERROR,
                error=f"template failed for this contact: {exc.message}",
            )
            return message
        text = body
        if self.opt_out is not None:
            text = with_opt_out(body, language=row.language, texts=self.opt_out)
        analysis = analyze(text)
        report.planned += 1
        due_now = due <= self.now
        message.update(
            text=text,
            encoding=analysis.encoding,
            segments=analysis.segments,
            state=QUEUED if due_now else PLANNED,
            queued_at=self.now if due_now else None,
        )
        return message


def _already_planned(session: Session, campaign_id: int) -> set[int]:
    rows = session.execute(
        select(col(Message.contact_id)).where(
            col(Message.campaign_id) == campaign_id, col(Message.is_test).is_(False)
        )
    )
    return {int(r[0]) for r in rows if r[0] is not None}


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(items, size)):
        yield batch
