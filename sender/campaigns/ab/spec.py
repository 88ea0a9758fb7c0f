"""A campaign's A/B test as the marketer describes it: 2 to 4 variants (each a text, a
page and/or a send time over the campaign's own), the share of the audience tested, the
metric, when to decide, and what to do when no variant wins.

The API's shape (issue 21): `"ab_test": {"variants": [{"template": "...", "page_id": 3,
"send_at": "..."}, ...], "test_share": 0.2, "metric": "human_ctr",
"decide_after_minutes": 60, "if_no_winner": "fallback", "fallback": 0}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from richsms.errors import InvalidInput, described
from richsms.types import Id
from sender.campaigns.models import Campaign

METRICS = ("human_ctr", "redemption_rate")
MAX_DECIDE_MINUTES = 7 * 24 * 60


class VariantTranslation(BaseModel):
    """A variant's text in one of the campaign's translations' languages."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=5_000)
    page_id: Id | None = None


class VariantSpec(BaseModel):
    """One variant: what differs from the campaign (a field left out is the campaign's)."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(default=None, max_length=5_000)
    page_id: Id | None = None
    translations: dict[str, VariantTranslation] | None = Field(
        default=None,
        description="The variant's text (and page) in each of the campaign's other "
        "languages: required for each when the variant changes the main text.",
    )
    send_at: datetime | None = Field(
        default=None, description="When this variant's test messages leave (with a zone)."
    )

    @model_validator(mode="after")
    def _differs(self) -> VariantSpec:
        if (
            self.template is None
            and self.page_id is None
            and self.send_at is None
            and not self.translations
        ):
            raise ValueError("a variant needs a template, translations, a page_id or a send_at")
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise ValueError("send_at needs a time zone")
        return self


class AbTestSpec(BaseModel):
    """An A/B test: `test_share` of the audience split evenly and at random (seeded by the
    campaign) between the variants; after `decide_after_minutes`, the variant with the
    best `metric` is sent to the rest when a two-proportion test finds it better at 95%;
    otherwise the `fallback` variant is sent, or the campaign waits for the marketer
    (`if_no_winner`: `wait`)."""

    model_config = ConfigDict(extra="forbid")

    variants: list[VariantSpec] = Field(min_length=2, max_length=4)
    test_share: float = Field(default=0.2, gt=0, le=1)
    metric: Literal["human_ctr", "redemption_rate"] = "human_ctr"
    decide_after_minutes: int = Field(default=60, ge=1, le=MAX_DECIDE_MINUTES)
    if_no_winner: Literal["fallback", "wait"] = "fallback"
    fallback: int = Field(default=0, ge=0, description="The index of the fallback variant.")

    @model_validator(mode="after")
    def _fallback_is_a_variant(self) -> AbTestSpec:
        if self.fallback >= len(self.variants):
            raise ValueError(
                f"fallback must be a variant's index, from 0 to {len(self.variants) - 1}"
            )
        return self


def parse_ab_test(raw: Mapping[str, Any] | AbTestSpec) -> AbTestSpec:
    """The test as stored or sent; InvalidInput naming the field (`ab_test.fallback`)."""
    if isinstance(raw, AbTestSpec):
        return raw
    try:
        return AbTestSpec.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(
            described(exc, "ab_test", within="ab_test."), code="invalid_input"
        ) from None


def stored_ab_test(raw: Mapping[str, Any] | AbTestSpec | None) -> dict[str, Any] | None:
    """What the campaign stores: the validated test as JSON (instants as ISO text)."""
    if raw is None:
        return None
    return parse_ab_test(raw).model_dump(mode="json")


def variant_changes(
    spec: AbTestSpec, index: int, translations: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    """The campaign's fields as variant `index` changes them (a send time makes the
    variant's schedule `at`; its translations replace the campaign's `translations` of
    the same language). InvalidInput when the variant changes the main text but leaves
    one of the campaign's other languages out, or gives a language the campaign has not:
    each language's recipients of a variant read that variant."""
    variant = spec.variants[index]
    changes: dict[str, Any] = {}
    given = variant.translations or {}
    languages = set(translations or {})
    where = f"ab_test.variants.{index}.translations"
    unknown = sorted(set(given) - languages)
    if unknown:  # a template of parameters: the UI tells it in French too
        raise InvalidInput(
            "{where}.{language}: the campaign has no {language} text for the variant "
            "to change (add the translation to the campaign first)",
            params={"where": where, "language": unknown[0]},
        )
    if variant.template is not None:
        changes["template"] = variant.template
        missing = sorted(languages - set(given))
        if missing:
            raise InvalidInput(
                "{where}.{language}: variant {variant} changes the main text: give its "
                "{language} text too, else its {language} speakers read the campaign's",
                params={"where": where, "language": missing[0], "variant": variant_name(index)},
            )
    if given:
        merged = {language: dict(text) for language, text in (translations or {}).items()}
        for language, text in given.items():
            merged[language] = text.model_dump()
        changes["translations"] = merged
    if variant.page_id is not None:
        changes["page_id"] = variant.page_id
    if variant.send_at is not None:
        changes.update(schedule="at", send_at=variant.send_at)
    return changes


def variant_campaign(campaign: Campaign, index: int) -> Campaign:
    """A detached copy of the campaign as variant `index` sends it (never added to a
    session): what a planner composes the variant's messages from."""
    assert campaign.ab_test is not None
    fields = {name: getattr(campaign, name) for name in Campaign.model_fields}
    spec = parse_ab_test(campaign.ab_test)
    fields.update(variant_changes(spec, index, campaign.translations))
    return Campaign.model_validate(fields)


def tested_variant(campaign: Campaign, index: int) -> Campaign:
    """`variant_campaign` for a variant the marketer named: InvalidInput (naming
    `variant`) when the campaign has no such variant."""
    count = len(parse_ab_test(campaign.ab_test).variants) if campaign.ab_test else 0
    if not 0 <= index < count:
        raise InvalidInput(
            f"variant: campaign {campaign.id} has no A/B test variant {index}"
            + (f" (from 0 to {count - 1})" if count else "")
        )
    return variant_campaign(campaign, index)


def variant_name(index: int) -> str:
    """A, B, C, D: how the UI and the report name variant `index`."""
    return "ABCD"[index]
