"""Planning one batch of a campaign's recipients: who is left out, each recipient's text
and personal short link, and the outbox rows, computed in memory.

Nothing here touches the database: the planning job (sender/campaigns/planning_job.py) reads the
batch, calls `BatchPlanner.plan`, then writes the links and messages it returns, with the
job's cursor and counters, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from sqlmodel import Session

from landing_templates.blocks.base import CouponSpec
from landing_templates.coupons.models import CouponPool
from landing_templates.links import new_token
from landing_templates.pages import published_version
from landing_templates.serving import CompiledPages, coupon_blocks, open_version
from richsms.errors import InvalidInput
from richsms.settings import Settings
from sender.audience.consent import refusal
from sender.campaigns.models import Campaign
from sender.campaigns.scheduling import due_at, local_moment
from sender.compose.composition import Composer
from sender.delivery.models import ERROR
from sender.delivery.outbox import NewMessage, message_row
from shortener.codes import CodeMaker
from shortener.links import LinkRows
from shortener.targets import build_target


@dataclass
class Progress:
    """A planning job's counters, as the campaign shows them."""

    planned: int = 0
    excluded: int = 0  # opted out, or promotional without consent, when planning
    errors: int = 0  # could not be composed for this recipient: an `error` message
    total: int | None = None  # the audience when planning started; None until counted

    @classmethod
    def of(cls, campaign: Campaign) -> Progress:
        return cls(
            planned=campaign.planned_count,
            excluded=campaign.excluded_count,
            errors=campaign.error_count,
            total=campaign.total_count,
        )

    @property
    def done(self) -> int:
        return self.planned + self.excluded + self.errors

    def as_dict(self) -> dict[str, int | None]:
        return {
            "planned": self.planned,
            "excluded": self.excluded,
            "errors": self.errors,
            "total": self.total,
        }


@dataclass
class PlannedBatch:
    """What one batch writes: its links and messages, and what it adds to the counters."""

    last_contact_id: int
    links: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    counts: Progress = field(default_factory=Progress)

    def served(self) -> list[int]:
        """The contacts whose message will be sent (not excluded, not in error)."""
        return [m["contact_id"] for m in self.messages if m["state"] != ERROR]


class BatchPlanner:
    """What stays the same for every recipient of one campaign, computed once per job."""

    def __init__(
        self,
        *,
        session: Session,
        campaign: Campaign,
        settings: Settings,
        codes: CodeMaker,
        now: datetime,
    ) -> None:
        assert campaign.id is not None
        self.campaign_id = campaign.id
        self.type = campaign.type
        self.schedule = campaign.schedule
        self.send_at = campaign.send_at
        # The one composition path: template, merge fields, link, the opt-out mention
        # naming the campaign's sender number, analysis, the segment limit.
        self.composer = Composer.for_campaign(session=session, campaign=campaign, settings=settings)
        self.target: str | None = None
        # A page campaign's links lead each recipient to the page's published version
        # under a token of their own (/p/{token}); others', to the campaign's target.
        self.page_id: int | None = None
        self.page_version: int | None = None
        # The page's blocks showing a coupon on sight: assigned at planning, in the batch's
        # transaction, so that the recipient's first view only reads (a wheel's coupon is
        # drawn at the spin). Block id → (settings, what a lack of codes is called).
        self.coupons: dict[str, tuple[CouponSpec, str]] = {}
        if self.composer.uses_link and campaign.page_id is not None:
            _page, self.page_version = published_version(
                session=session, page_id=campaign.page_id
            )
            self.page_id = campaign.page_id
            self.target = build_target(settings.base_url + "p/")
            compiled = open_version(
                session=session,
                cache=CompiledPages(),
                page_id=campaign.page_id,
                version=self.page_version,
            ).compiled
            for block_id, spec in coupon_blocks(compiled):
                self.coupons[block_id] = (spec, _shortage(session, block_id, spec))
        elif self.composer.uses_link and campaign.target_url:
            self.target = build_target(campaign.target_url)
        self.codes = codes
        self.now = now
        self.prefix = settings.short_url
        self.window = f"{campaign.window_start}-{campaign.window_end}"
        self.local: tuple[date, time] | None = local_moment(campaign)

    @property
    def uses_link(self) -> bool:
        return self.target is not None

    def eligible(self, rows: Sequence[tuple[Any, Mapping[str, object]]]) -> list[int]:
        """Indexes of the rows the consent rule lets this campaign reach."""
        return [
            i
            for i, (row, _) in enumerate(rows)
            if refusal(row.status, row.consent_type, self.type) is None
        ]

    def plan(
        self,
        rows: Sequence[tuple[Any, Mapping[str, object]]],
        link_ids: Sequence[int],
    ) -> PlannedBatch:
        """The batch's links and messages. `link_ids` holds one reserved link id per
        eligible row (see `eligible`) when the template has a link, else nothing."""
        batch = PlannedBatch(last_contact_id=int(rows[-1][0].id) if rows else 0)
        eligible = self.eligible(rows)
        batch.counts.excluded = len(rows) - len(eligible)
        ids = iter(link_ids)
        codes = iter(self.codes.make_many(link_ids) if self.target is not None else ())
        for index in eligible:
            row, fields = rows[index]
            link_id: int | None = None
            short_url = ""
            if self.target is not None:
                link_id = next(ids)
                code = next(codes)
                short_url = self.prefix + code
                batch.links.append(self._link(link_id, code, row.id))
            message = self._message(row, fields, link_id, short_url, batch.counts)
            if link_id is not None and message["state"] == ERROR:
                batch.links.pop()  # not produced: not sent, so no link (as in `unserved`)
            batch.messages.append(message)
        return batch

    def unserved(self, batch: PlannedBatch, reasons: Mapping[int, str]) -> None:
        """Turn the messages of the contacts in `reasons` (contact id → why: a coupon pool
        ran out) into production errors, and drop their links: they are not sent."""
        dropped: set[int] = set()
        for message in batch.messages:
            reason = reasons.get(message["contact_id"])
            if reason is None or message["state"] == ERROR:
                continue
            if message["link_id"] is not None:
                dropped.add(message["link_id"])
            message.update(
                self._row(
                    message["contact_id"],
                    message["phone"],
                    message["timezones"],
                    message["due_at"],
                    error=reason,
                )
            )
            batch.counts.planned -= 1
            batch.counts.errors += 1
        if dropped:
            batch.links = [link for link in batch.links if link["id"] not in dropped]

    def _link(self, link_id: int, code: str, contact_id: int) -> dict[str, Any]:
        token = new_token() if self.page_id is not None else None
        return self._link_rows.row(link_id, code, contact_id, token)

    @cached_property
    def _link_rows(self) -> LinkRows:
        """The campaign's links built as `create_links` builds any link."""
        assert self.target is not None
        return LinkRows(
            target=self.target,
            created_at=self.now,
            campaign_id=self.campaign_id,
            page_id=self.page_id,
            page_version=self.page_version,
        )

    def due(self, timezones: str) -> datetime:
        return due_at(
            schedule=self.schedule,
            send_at=self.send_at,
            local=self.local,
            timezones=timezones,
            now=self.now,
        )

    def _message(
        self,
        row: Any,
        fields: Mapping[str, object],
        link_id: int | None,
        short_url: str,
        counts: Progress,
    ) -> dict[str, Any]:
        due = self.due(row.timezones)
        try:
            composed = self.composer.compose(fields, language=row.language, link=short_url)
            message = self._row(
                row.id,
                row.phone,
                row.timezones,
                due,
                link_id=link_id,
                text=composed.text,
                encoding=composed.encoding,
                segments=composed.segments,
            )
        except InvalidInput as exc:  # the template failed, or too long, for this recipient
            counts.errors += 1
            error = f"template failed for this contact: {exc.message}"
            return self._row(row.id, row.phone, row.timezones, due, error=error)
        counts.planned += 1
        return message

    def _row(
        self, contact_id: int, phone: str, timezones: str, due: datetime, **outcome: Any
    ) -> dict[str, Any]:
        """The outbox's one row builder, with what this campaign gives every message."""
        message = NewMessage(
            phone=phone,
            type=self.type,
            due_at=due,
            contact_id=contact_id,
            campaign_id=self.campaign_id,
            window=self.window,
            timezones=timezones,
            **outcome,
        )
        return message_row(message, now=self.now)


def _shortage(session: Session, block_id: str, spec: CouponSpec) -> str:
    if spec.source == "pool" and spec.pool_id is not None:
        pool = session.get(CouponPool, spec.pool_id)
        name = pool.name if pool is not None else f"#{spec.pool_id}"
        return f"coupon pool {name!r} ran out (block {block_id!r})"
    return f"coupon codes of block {block_id!r} ran out"
