"""Planning one batch of a campaign's recipients: who is left out, each recipient's text
and personal short link, and the outbox rows, computed in memory.

Nothing here touches the database: the planning job (sender/campaigns/planning_job.py) reads the
batch, calls `BatchPlanner.plan`, then writes the links and messages it returns, with the
job's cursor and counters, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
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
from sender.campaigns.variants import CampaignVariants, Variant
from sender.delivery.frequency_caps import REASON as CAPPED
from sender.delivery.frequency_caps import FrequencyCap, campaign_cap
from sender.delivery.models import ERROR
from sender.delivery.outbox import NewMessage, message_row
from shortener.codes import CodeMaker
from shortener.links import LinkRows, LinkSpec
from shortener.targets import build_target


@dataclass
class Progress:
    """A planning job's counters, as the campaign shows them."""

    planned: int = 0
    excluded: int = 0  # opted out, promotional without consent, or capped, when planning
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
    """What one batch writes: its links and messages, and what it adds to the counters
    (and to the exclusions by reason)."""

    last_contact_id: int
    links: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    counts: Progress = field(default_factory=Progress)
    exclusions: dict[str, int] = field(default_factory=dict)
    # The page each recipient's link shows (contact id → page id).
    page_of: dict[int, int] = field(default_factory=dict)
    # An A/B test's pass: each eligible recipient's variant (sender/campaigns/ab/planner.py).
    assignments: list[dict[str, Any]] = field(default_factory=list)

    def served(self, page_id: int | None = None) -> list[int]:
        """The contacts whose message will be sent (not excluded, not in error); with
        `page_id`, those whose link shows that page."""
        shows = self.page_of.get
        return [
            m["contact_id"]
            for m in self.messages
            if m["state"] != ERROR and (page_id is None or shows(m["contact_id"]) == page_id)
        ]


@dataclass
class PageTarget:
    """A page recipients' links show: its published version, and its blocks showing a
    coupon on sight (assigned at planning, in the batch's transaction, so that the
    recipient's first view only reads; a wheel's coupon is drawn at the spin): block id
    → (settings, what a lack of codes is called)."""

    page_id: int
    version: int
    coupons: dict[str, tuple[CouponSpec, str]] = field(default_factory=dict)


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
        # The frequency cap its recipients are held to (None: not capped), and those of
        # the batch in hand it leaves out (contact ids): the planning job reads them with
        # each batch (`cap`).
        self.frequency_cap: FrequencyCap | None = campaign_cap(
            campaign.frequency_cap, type=campaign.type, account=FrequencyCap.of_account(settings)
        )
        self.capped: Set[int] = frozenset()
        # Each recipient's variant (sender/campaigns/variants.py): the text and page of
        # their language, from the number of their country, composed by the one
        # composition path (template, merge fields, link, that number's opt-out
        # mention, analysis, the segment limit).
        self.variants = CampaignVariants(session=session, campaign=campaign, settings=settings)
        # A page campaign's links lead each recipient to their page's published version
        # under a token of their own (/p/{token}); others', to the campaign's target.
        self.pages: dict[int, PageTarget] = {}
        self.page_target: str | None = None
        self.url_target: str | None = None
        cache = CompiledPages()
        for text in self.variants.texts.values():
            if not self.variants.composer(text, None).uses_link:
                continue
            if text.page_id is None:
                if campaign.target_url:
                    self.url_target = build_target(campaign.target_url)
                continue
            if text.page_id in self.pages:
                continue
            _page, version = published_version(session=session, page_id=text.page_id)
            self.page_target = build_target(settings.base_url + "p/")
            target = self.pages[text.page_id] = PageTarget(text.page_id, version)
            compiled = open_version(
                session=session, cache=cache, page_id=text.page_id, version=version
            ).compiled
            for block_id, spec in coupon_blocks(compiled):
                target.coupons[block_id] = (spec, _shortage(session, block_id, spec))
        # Campaigns whose reply choices the texts read (`reply.campaign_<id>`): each
        # batch's recipients get their answers among their fields (`with_answers`).
        self.reply_campaigns = tuple(
            sorted(
                {
                    campaign
                    for text in self.variants.texts.values()
                    for campaign in self.variants.composer(text, None).reply_campaigns
                }
            )
        )
        self.codes = codes
        self.now = now
        self.prefix = settings.short_url
        self.window = f"{campaign.window_start}-{campaign.window_end}"
        self.local: tuple[date, time] | None = local_moment(campaign)

    @property
    def uses_link(self) -> bool:
        return self.page_target is not None or self.url_target is not None

    @property
    def coupons(self) -> bool:
        """Whether any page of the campaign shows a coupon on sight."""
        return any(page.coupons for page in self.pages.values())

    def _choose(self, row: Any) -> Variant | str:
        return self.variants.choose(row.language, row.phone)

    def cap(self, capped: Set[int]) -> None:
        """The contacts of the batch in hand the frequency cap leaves out."""
        self.capped = capped

    def eligible(self, rows: Sequence[tuple[Any, Mapping[str, object]]]) -> list[int]:
        """Indexes of the rows the consent rule lets this campaign reach, the frequency
        cap does not leave out, and a sender number of the campaign can."""
        return [
            i
            for i, (row, _) in enumerate(rows)
            if refusal(row.status, row.consent_type, self.type) is None
            and row.id not in self.capped
            and not isinstance(self._choose(row), str)
        ]

    def links_needed(self, rows: Sequence[tuple[Any, Mapping[str, object]]]) -> int:
        """How many link ids `plan` takes for these rows."""
        return len(self.eligible(rows)) if self.uses_link else 0

    def plan(
        self,
        rows: Sequence[tuple[Any, Mapping[str, object]]],
        link_ids: Sequence[int],
    ) -> PlannedBatch:
        """The batch's links and messages. `link_ids` holds one reserved link id per
        eligible row (see `eligible`) when the campaign has links, else nothing."""
        batch = PlannedBatch(last_contact_id=int(rows[-1][0].id) if rows else 0)
        ids = iter(link_ids)
        codes = iter(self.codes.make_many(link_ids) if self.uses_link else ())
        for row, fields in rows:
            if refusal(row.status, row.consent_type, self.type) is not None:
                batch.counts.excluded += 1
                continue
            # A variant, or why the recipient is left out (a string).
            variant = CAPPED if row.id in self.capped else self._choose(row)
            if isinstance(variant, str):
                batch.counts.excluded += 1
                batch.exclusions[variant] = batch.exclusions.get(variant, 0) + 1
                continue
            link_id: int | None = None
            short_url = ""
            if self.uses_link:
                link_id, code = next(ids), next(codes)
                if variant.composer.uses_link:
                    short_url = self.prefix + code
                    batch.links.append(self._link(link_id, code, row.id, variant))
                    if variant.page_id in self.pages:
                        batch.page_of[row.id] = variant.page_id
                else:
                    link_id = None
            message = self._message(row, fields, variant, link_id, short_url, batch.counts)
            if link_id is not None and message["state"] == ERROR:
                batch.links.pop()  # not produced: not sent, so no link (as in `unserved`)
                batch.page_of.pop(row.id, None)
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
                    language=message["language"],
                    sender=message["sender"],
                )
            )
            batch.counts.planned -= 1
            batch.counts.errors += 1
        if dropped:
            batch.links = [link for link in batch.links if link["id"] not in dropped]

    def _link(
        self, link_id: int, code: str, contact_id: int, variant: Variant
    ) -> dict[str, Any]:
        page = self.pages.get(variant.page_id) if variant.page_id is not None else None
        if page is None:
            return self._link_rows(None).row(link_id, code, contact_id, None)
        return self._link_rows(page).row(link_id, code, contact_id, new_token())

    def _link_rows(self, page: PageTarget | None) -> LinkRows:
        """The campaign's links to `page` (None: to its target URL), built as
        `create_links` builds any link."""
        key = page.page_id if page is not None else None
        found = self._link_builders.get(key)
        if found is None:
            target = self.page_target if page is not None else self.url_target
            assert target is not None
            spec = LinkSpec(
                url=target,
                campaign_id=self.campaign_id,
                page_id=page.page_id if page is not None else None,
                page_version=page.version if page is not None else None,
            )
            found = self._link_builders[key] = spec.rows(self.now)
        return found

    @cached_property
    def _link_builders(self) -> dict[int | None, LinkRows]:
        return {}

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
        variant: Variant,
        link_id: int | None,
        short_url: str,
        counts: Progress,
    ) -> dict[str, Any]:
        due = self.due(row.timezones)
        sent_as = {"language": variant.language, "sender": variant.sender_value}
        try:
            composed = variant.composer.compose(
                fields, language=variant.recipient_language, link=short_url
            )
            message = self._row(
                row.id,
                row.phone,
                row.timezones,
                due,
                link_id=link_id,
                text=composed.text,
                encoding=composed.encoding,
                segments=composed.segments,
                **sent_as,
            )
        except InvalidInput as exc:  # the template failed, or too long, for this recipient
            counts.errors += 1
            error = f"template failed for this contact: {exc.message}"
            return self._row(row.id, row.phone, row.timezones, due, error=error, **sent_as)
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
