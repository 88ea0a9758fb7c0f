"""The composer's A/B test section: the form's `ab-*` fields as the `ab_test` the API
takes (sender/campaigns/ab/spec.py), the campaign's test as those fields again, the
section's buttons (add or remove the test, add or remove a variant: the form shown again,
nothing saved, as the translations' buttons do), and a refusal placed next to the field it
names (`ab_test.variants.1.translations.en: ...` beside variant B's English text).

The fields: `ab-variants` (how many, 2 to 4; present while the section is open), for
variant i `ab-{i}-template`, `ab-{i}-page_id`, `ab-{i}-send_at` (in the form's time
zone), `ab-{i}-translation-{language}` and `ab-{i}-translation-{language}-page_id`;
`ab-share` (percent), `ab-metric`, `ab-decide` and `ab-decide-unit`,
`ab-if_no_winner` (`fallback-{i}` or `wait`). Nothing here checks the test: that is
`create_campaign`/`update_campaign`'s, through `parse_ab_test`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from richsms.errors import InvalidInput, RichsmsError
from richsms.i18n import N_
from sender.campaigns.ab.spec import MAX_DECIDE_MINUTES

COUNT = "ab-variants"
ANALYZED = "ab-analyzed"  # what the page's variant analyses show: `analysis_mark`s
MIN_VARIANTS, MAX_VARIANTS = 2, 4
DEFAULT_SHARE = "20"
UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
UNIT_LABELS = {"minutes": N_("minutes"), "hours": N_("hours"), "days": N_("days")}
METRIC_LABELS = {
    "human_ctr": N_("Clicks (click-through rate)"),
    "redemption_rate": N_("Redemptions (redemption rate)"),
}
WAIT = "wait"
MAX_DAYS = MAX_DECIDE_MINUTES // UNITS["days"]
# What a refused share or delay says, in the section's units (the use case counts a
# fraction and minutes): the limits are the use case's, `AbTestSpec`.
HINTS = {
    "ab-share": N_("More than 0 %, at most 100 %."),
    "ab-decide": N_("From 1 minute to {days} days."),
}
_VARIANT_KEY = re.compile(r"ab-(\d)-(.+)")


def variant_count(form: Mapping[str, str]) -> int:
    """How many variants the form's test has; 0 when the form has no test."""
    raw = form.get(COUNT)
    if raw is None:
        return 0
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) == 1 else MIN_VARIANTS
    return min(max(number, MIN_VARIANTS), MAX_VARIANTS)


def _number(raw: str) -> float | str:
    """A number the marketer typed (a decimal comma read too), or the text as typed for
    the use case to refuse, naming its field."""
    try:
        return float(raw.strip().replace(",", "."))
    except ValueError:
        return raw


def _id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 10 else None


def ab_test_of(
    form: Mapping[str, str],
    languages: list[str],
    moment: Callable[[str, str], datetime | None],
) -> dict[str, Any] | None:
    """The `ab_test` the form describes (None without the section); `languages` are the
    campaign's translations' languages, `moment(field, where)` reads a send time."""
    count = variant_count(form)
    if not count:
        return None
    variants = []
    for index in range(count):
        own = f"ab-{index}-"
        variant: dict[str, Any] = {}
        text = form.get(own + "template", "")
        if text.strip():
            variant["template"] = text
        if (page_id := _id(form.get(own + "page_id", ""))) is not None:
            variant["page_id"] = page_id
        given = {
            language: {
                "template": form[own + f"translation-{language}"],
                "page_id": _id(form.get(own + f"translation-{language}-page_id", "")),
            }
            for language in languages
            if form.get(own + f"translation-{language}", "").strip()
        }
        if given:
            variant["translations"] = given
        at = moment(own + "send_at", f"ab_test.variants.{index}.send_at")
        if at is not None:
            variant["send_at"] = at
        variants.append(variant)
    share = _number(form.get("ab-share", DEFAULT_SHARE) or DEFAULT_SHARE)
    decide = _number(form.get("ab-decide", "1") or "1")
    unit = UNITS.get(form.get("ab-decide-unit", "hours"), 60)
    if isinstance(decide, float) and (decide * unit).is_integer():  # 1.5 hours: 90 minutes
        decide = int(decide * unit)
    no_winner = form.get("ab-if_no_winner", "fallback-0")
    fallback = no_winner.removeprefix("fallback-")
    return {
        "variants": variants,
        "test_share": share / 100 if isinstance(share, float) else share,
        "metric": form.get("ab-metric", "human_ctr"),
        "decide_after_minutes": decide,
        "if_no_winner": WAIT if no_winner == WAIT else "fallback",
        "fallback": int(fallback) if fallback.isascii() and fallback.isdigit() else 0,
    }


def analysis_mark(form: Mapping[str, str], index: int, translations: list[str]) -> str:
    """A digest of what variant `index`'s SMS analyses show: its own fields, and the
    campaign's that change an analysis (type, language, audience, numbers, pages, which
    translations it has; not the campaign's own texts)."""
    own = f"ab-{index}-"
    kept = sorted(
        (name, value)
        for name, value in form.items()
        if name.startswith((own, "group-", "segment-", "sender-"))
        or name in ("type", "language", "page_id", "sender_id", "default_sender_id")
        or (name.startswith("translation-") and name.endswith("-page_id"))
    )
    return hashlib.blake2b(repr((kept, translations)).encode(), digest_size=8).hexdigest()


def decide_in_units(minutes: int) -> tuple[int, str]:
    """`decide_after_minutes` in the largest unit that holds it whole (2 days, 90 minutes)."""
    for unit in ("days", "hours"):
        if minutes % UNITS[unit] == 0:
            return minutes // UNITS[unit], unit
    return minutes, "minutes"


def form_fields(test: Mapping[str, Any] | None) -> dict[str, str]:
    """The section's fields filled with a stored test (the inverse of `ab_test_of`);
    send times in UTC, the zone the composer shows a saved campaign in."""
    if not test:
        return {}
    variants = test.get("variants") or []
    decide, unit = decide_in_units(int(test.get("decide_after_minutes", 60)))
    fields = {
        COUNT: str(len(variants)),
        "ab-share": f"{float(test.get('test_share', 0.2)) * 100:g}",
        "ab-metric": str(test.get("metric", "human_ctr")),
        "ab-decide": str(decide),
        "ab-decide-unit": unit,
        "ab-if_no_winner": WAIT
        if test.get("if_no_winner") == WAIT
        else f"fallback-{test.get('fallback', 0)}",
    }
    for index, variant in enumerate(variants):
        own = f"ab-{index}-"
        fields[own + "template"] = str(variant.get("template") or "")
        fields[own + "page_id"] = str(variant.get("page_id") or "")
        if variant.get("send_at"):
            at = datetime.fromisoformat(str(variant["send_at"])).astimezone(UTC)
            fields[own + "send_at"] = at.strftime("%Y-%m-%dT%H:%M")
        for language, text in (variant.get("translations") or {}).items():
            fields[own + f"translation-{language}"] = str(text.get("template") or "")
            fields[own + f"translation-{language}-page_id"] = str(text.get("page_id") or "")
    return fields


def changed(form: dict[str, str]) -> dict[str, str] | None:
    """The form with the test opened, closed, or a variant added or removed, when one of
    the section's buttons was pressed (nothing is saved), else None."""
    action = form.get("ab_change", "")
    count = variant_count(form)
    kept = {name: value for name, value in form.items() if name != "ab_change"}
    if action == "add" and not count:
        return {COUNT: str(MIN_VARIANTS), "ab-share": DEFAULT_SHARE} | kept
    if action == "remove":
        return {name: value for name, value in kept.items() if not name.startswith("ab-")}
    if action == "add_variant" and count:
        return kept | {COUNT: str(min(count + 1, MAX_VARIANTS))}
    gone = action.removeprefix("remove-")
    if gone.isascii() and gone.isdigit() and len(gone) == 1 and count > MIN_VARIANTS:
        return _without_variant(kept, int(gone), count)
    return kept if action else None  # a button that does nothing here still saves nothing


def _without_variant(form: dict[str, str], gone: int, count: int) -> dict[str, str]:
    """The form without variant `gone`: the later ones move up a letter, and the fallback
    follows its variant (the removed one's falls back to A)."""
    if gone >= count:
        return form
    moved: dict[str, str] = {}
    for name, value in form.items():
        found = _VARIANT_KEY.fullmatch(name)
        if found is None:
            moved[name] = value
        elif (index := int(found[1])) != gone:
            moved[f"ab-{index - 1 if index > gone else index}-{found[2]}"] = value
    moved[COUNT] = str(count - 1)
    fallback = form.get("ab-if_no_winner", "").removeprefix("fallback-")
    if fallback.isascii() and fallback.isdigit():
        index = int(fallback)
        moved["ab-if_no_winner"] = f"fallback-{0 if index == gone else index - (index > gone)}"
    return moved


def without_language(form: dict[str, str], language: str) -> dict[str, str]:
    """The form's variants without their text in `language` (its translation removed)."""
    return {
        name: value
        for name, value in form.items()
        if not (
            (found := _VARIANT_KEY.fullmatch(name))
            and found[2] in (f"translation-{language}", f"translation-{language}-page_id")
        )
    }


# A refusal's field path, as the use case writes it ("ab_test.variants.1.template, ...:"),
# French putting a space before the colon.
_WHERE = re.compile(r"(ab_test(?:\.[\w-]+)*)(?:, [\w.-]+)*\s?: ")
_FIELDS = (
    (re.compile(r"ab_test\.variants\.(\d)\.translations\.(\w+)\.page_id"),
     "ab-{0}-translation-{1}-page_id"),
    (re.compile(r"ab_test\.variants\.(\d)\.translations\.(\w+)(?:\.template)?"),
     "ab-{0}-translation-{1}"),
    (re.compile(r"ab_test\.variants\.(\d)\.(template|page_id|send_at)"), "ab-{0}-{1}"),
    (re.compile(r"ab_test\.variants\.(\d)\.schedule"), "ab-{0}-send_at"),
    (re.compile(r"ab_test\.variants\.(\d)(?:\..*)?"), "ab-{0}"),
    (re.compile(r"ab_test\.variants"), COUNT),
    (re.compile(r"ab_test\.test_share"), "ab-share"),
    (re.compile(r"ab_test\.metric"), "ab-metric"),
    (re.compile(r"ab_test\.decide_after_minutes"), "ab-decide"),
    (re.compile(r"ab_test\.(?:if_no_winner|fallback)"), "ab-if_no_winner"),
    (re.compile(r"ab_test"), "ab-test"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Placed:
    """A refusal told next to the form field it names."""

    field: str
    message: str


def placed(exc: RichsmsError, translate: Callable[[str], str]) -> Placed | None:
    """Where the refusal `exc` goes in the A/B test section, told through `translate`
    without its field path (the sentence alone translated when the whole is not known);
    None for a refusal about another part of the form."""
    where = _WHERE.match(exc.message)
    if where is None:
        return None
    for pattern, field in _FIELDS:
        if (found := pattern.fullmatch(where[1])) is not None:
            if field in HINTS:
                return Placed(field, translate(HINTS[field]).format(days=MAX_DAYS))
            told = exc.told(translate)
            sentence = _WHERE.sub("", told, count=1).removeprefix("Value error, ")
            if told == exc.message:
                sentence = translate(sentence)
            return Placed(field.format(*found.groups()), sentence[:1].upper() + sentence[1:])
    return None


def refused_send_time(where: str) -> InvalidInput:
    return InvalidInput(
        "{where}: give the date, time and a valid time zone (Europe/Paris)",
        params={"where": where},
    )
