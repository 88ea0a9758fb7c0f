"""A campaign's A/B test on its screen: before sending, what the test is (each variant's
texts, page and send time, the share tested, the metric, the decision rule); once it
runs, the marketer's choice of the variant the rest of the audience gets (the figures
and the decision are in the campaign's report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.units import format_unit
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from landing_templates.models import Page
from richsms.errors import InvalidInput
from richsms.i18n import N_
from sender.campaigns import states
from sender.campaigns.ab.decision import choose_variant
from sender.campaigns.ab.spec import parse_ab_test, variant_name
from sender.campaigns.models import Campaign
from web.bodies import path_id
from web.context import context
from web.ui.base import back_to
from web.ui.campaigns.composer_ab_test import METRIC_LABELS, decide_in_units
from web.ui.render import Viewer

BEFORE_SENDING = (states.DRAFT, states.AWAITING_APPROVAL, states.APPROVED, states.SCHEDULED)
UNIT_NAMES = {"minutes": "duration-minute", "hours": "duration-hour", "days": "duration-day"}


@dataclass(frozen=True, slots=True)
class VariantSummary:
    name: str  # A, B, C, D
    texts: tuple[tuple[str, str], ...]  # (language, text) of the texts it changes
    page: str | None  # the name of the page it changes to
    send_at: datetime | None


@dataclass(frozen=True, slots=True)
class TestSummary:
    variants: tuple[VariantSummary, ...]
    test_share: float
    metric: str  # its label, to translate
    decide_after: str  # "2 hours", in the viewer's language
    fallback: str | None  # the variant sent with no clear winner; None: the marketer chooses


def summary(db: Session, campaign: Campaign, language: str) -> TestSummary | None:
    """The campaign's test as its screen sums it up before sending; None without a test,
    or once it is sent (the results then show it, figures beside each variant)."""
    if campaign.ab_test is None or campaign.status not in BEFORE_SENDING:
        return None
    test = parse_ab_test(campaign.ab_test)
    pages = {
        page_id: page.name
        for page_id in {v.page_id for v in test.variants if v.page_id is not None}
        if (page := db.get(Page, page_id)) is not None
    }
    variants = tuple(
        VariantSummary(
            name=variant_name(index),
            texts=(
                *(((campaign.language, v.template),) if v.template is not None else ()),
                *((lang, t.template) for lang, t in sorted((v.translations or {}).items())),
            ),
            page=pages.get(v.page_id, f"#{v.page_id}") if v.page_id is not None else None,
            send_at=v.send_at,
        )
        for index, v in enumerate(test.variants)
    )
    count, unit = decide_in_units(test.decide_after_minutes)
    return TestSummary(
        variants=variants,
        test_share=test.test_share,
        metric=METRIC_LABELS[test.metric],
        decide_after=format_unit(count, UNIT_NAMES[unit], length="long", locale=language),
        fallback=variant_name(test.fallback) if test.if_no_winner == "fallback" else None,
    )


def choose(request: Request, db: Session, view: Viewer, form: dict[str, str]) -> Response:
    campaign_id = path_id(request, "campaign")
    raw = form.get("variant", "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) == 1):
        raise InvalidInput("choose a variant")
    choose_variant(
        session=db,
        clock=context(request).clock,
        campaign_id=campaign_id,
        variant=int(raw),
        chooser=view.actor,
    )
    return back_to(
        f"/ui/campaigns/{campaign_id}", N_("Variant chosen: the rest of the audience gets it.")
    )
