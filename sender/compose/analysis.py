"""What a campaign will cost: the exact analysis over an audience (the estimate without one
is in `sender.compose.estimate`).

Over an audience, every recipient's message is measured exactly. A message depends only on
the values of the fields the template reads (and on the language, for the opt-out
mention), so recipients sharing those values share one render and one analysis: the
audience is streamed once, and only new combinations of values are rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from math import inf
from operator import itemgetter
from time import monotonic
from typing import Final

from richsms.types import AsDict
from sender.compose.encoding import analyze
from sender.compose.estimate import (
    DEFAULT_FIELD_LENGTHS,
    DEFAULT_OTHER_FIELD_LENGTH,
    VARIABLE,
    TemplateEstimate,
    estimate_template,
    format_of,
    placeholder_link,
)
from sender.compose.optout_mention import OptOutTexts, append_mention
from sender.compose.templates import MessageTemplate, TemplateError

__all__ = [
    "DEFAULT_FIELD_LENGTHS",
    "DEFAULT_OTHER_FIELD_LENGTH",
    "VARIABLE",
    "AudienceAnalysis",
    "TemplateEstimate",
    "analyze_audience",
    "combined",
    "estimate_template",
    "placeholder_link",
]

# Bounds the memory of the render cache when (almost) every recipient is distinct:
# clearing costs a few re-renders, keeping every entry would grow with the audience.
CACHE_LIMIT: Final = 200_000
MAX_ERROR_SAMPLES: Final = 10


# --- Over an audience ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentGroup(AsDict):
    """How many recipients get a message of this encoding and this many segments."""

    encoding: str
    segments: int
    recipients: int


@dataclass(frozen=True, slots=True)
class RenderFailure(AsDict):
    """A contact whose message could not be rendered; `index` counts from 0 in the audience."""

    index: int
    reason: str


@dataclass(frozen=True, slots=True)
class AudienceAnalysis:
    """The exact cost of sending a template to an audience.

    `recipients` counts every contact; those whose message failed to render are counted
    in `errors` and left out of the distribution, the lengths and the cost. Lengths are
    of the final message (link and opt-out mention included), in characters and units.
    `format` is None when no message could be rendered.
    """

    recipients: int
    distribution: tuple[SegmentGroup, ...]
    min_length: int | None
    max_length: int | None
    min_units: int | None
    max_units: int | None
    format: str | None
    total_segments: int
    estimated_cost: Decimal
    errors: int
    error_samples: tuple[RenderFailure, ...]

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {
            "distribution": [group.as_dict() for group in self.distribution],
            "estimated_cost": str(self.estimated_cost),
            "error_samples": [sample.as_dict() for sample in self.error_samples],
        }


# What the distribution needs from one message: (encoding, segments, characters, units).
_Outcome = tuple[str, int, int, int]
# A mutable one-slot counter shared by every cache entry with the same outcome, so that a
# cache hit costs one increment.
_Counter = list[int]


def _key_reader(names: tuple[str, ...]) -> Callable[[Mapping[str, object]], object]:
    """Reads the values that decide a contact's message, as a hashable cache key."""
    if not names:
        return lambda contact: ()
    if len(names) == 1:
        (name,) = names
        return lambda contact: contact.get(name)
    present = itemgetter(*names)  # the fast path: every field is there

    def read(contact: Mapping[str, object]) -> object:
        try:
            return present(contact)
        except KeyError:
            return tuple([contact.get(name) for name in names])

    return read


_UNCACHEABLE: Final = object()
_TEXT_TYPES: Final = frozenset({str, type(None)})


def _cacheable(key: object) -> bool:
    # Only text and NULLs are cached: values of other types can be equal yet print
    # differently (1, 1.0 and True are one dict key), which would break exactness.
    # Those contacts are rendered every time, which is correct, only slower.
    if key.__class__ is tuple:
        return _TEXT_TYPES.issuperset(map(type, key))
    return type(key) in _TEXT_TYPES


def _too_slow(seconds: float | None) -> TemplateError:
    error = TemplateError(
        "The analysis was stopped: rendering the audience's messages took more than "
        "{seconds} s in all. Simplify the template.",
        params={"seconds": seconds},
    )
    error.over_budget = True
    return error


def analyze_audience(
    template: MessageTemplate,
    contacts: Iterable[Mapping[str, object]],
    *,
    link_length: int,
    opt_out: OptOutTexts | None,
    price_per_segment: Decimal,
    cache_limit: int = CACHE_LIMIT,
    max_segments: int | None = None,
    max_render_seconds: float | None = None,
) -> AudienceAnalysis:
    """Measure every recipient's message exactly, streaming `contacts` once.

    `cache_limit` bounds the renders kept for reuse (the memory stays flat whatever
    the audience's size); it only changes the speed, never the result. A message longer
    than `max_segments` is an error, as it would be when planning. A render that runs
    past its budget raises TemplateError at once: the template is at fault, not the
    recipient, and trying every other recipient would only take longer. The time spent
    rendering, in all, stays under `max_render_seconds` (TemplateError past it): each
    render has its own budget, and this bounds a request of many slow renders.
    """
    link = placeholder_link(link_length)
    render = template.render
    read_key = _key_reader(template.fields + (("language",) if opt_out is not None else ()))

    cache: dict[object, _Counter] = {}
    counters: dict[_Outcome, _Counter] = {}
    failed: _Counter = [0]
    samples: list[RenderFailure] = []

    mentions: dict[object, str] = {}  # language as stored -> the mention in that language

    def mention_for(language: object) -> str:
        try:
            return mentions[language]
        except KeyError:
            assert opt_out is not None
            mention = mentions[language] = opt_out.for_language(language)
            return mention
        except TypeError:  # an unhashable language is not a language: English
            assert opt_out is not None
            return opt_out.for_language(language)

    rendering: list[float] = [max_render_seconds if max_render_seconds is not None else inf]

    def measure(index: int, contact: Mapping[str, object], key: object) -> _Counter:
        started = monotonic()
        try:
            body = render(contact, link)
        except TemplateError as error:
            if error.over_budget:
                raise
            return failure(index, key, error.message)
        finally:
            rendering[0] -= monotonic() - started
            if rendering[0] < 0:
                raise _too_slow(max_render_seconds)
        if opt_out is not None:
            body = append_mention(body, mention_for(contact.get("language")))
        result = analyze(body)
        if max_segments is not None and result.segments > max_segments:
            reason = f"{result.segments} segments: more than the {max_segments} allowed"
            return failure(index, key, reason)
        outcome = (result.encoding, result.segments, result.characters, result.units)
        counter = counters.get(outcome) or counters.setdefault(outcome, [0])
        remember(key, counter)
        return counter

    def failure(index: int, key: object, reason: str) -> _Counter:
        if len(samples) < MAX_ERROR_SAMPLES:
            samples.append(RenderFailure(index, reason))
        remember(key, failed)
        return failed

    def remember(key: object, counter: _Counter) -> None:
        if _cacheable(key):
            if len(cache) >= cache_limit:
                cache.clear()
            cache[key] = counter

    lookup = cache.get
    recipients = 0
    for recipients, contact in enumerate(contacts, start=1):
        key = read_key(contact)
        try:
            counter = lookup(key)
        except TypeError:  # an unhashable value (a list...): never cached
            counter = None
            key = _UNCACHEABLE
        if counter is None:
            counter = measure(recipients - 1, contact, key)
        counter[0] += 1

    return _summarize(recipients, counters, failed[0], samples, price_per_segment)


def combined(analyses: Sequence[AudienceAnalysis], price_per_segment: Decimal) -> AudienceAnalysis:
    """Several audiences' analyses as one (a campaign's variants: each translation from
    each number, analysed over its own recipients)."""
    if len(analyses) == 1:
        return analyses[0]
    counters: dict[_Outcome, _Counter] = {}
    for analysis in analyses:
        for group in analysis.distribution:
            # The lengths only matter at their extremes: each group keeps its own.
            for length, units in ((analysis.min_length, analysis.min_units),
                                  (analysis.max_length, analysis.max_units)):  # fmt: skip
                key = (group.encoding, group.segments, length or 0, units or 0)
                counters.setdefault(key, [0])
            first = (group.encoding, group.segments, analysis.min_length or 0,
                     analysis.min_units or 0)  # fmt: skip
            counters[first][0] += group.recipients
    samples = [sample for analysis in analyses for sample in analysis.error_samples]
    return _summarize(
        sum(a.recipients for a in analyses),
        counters,
        sum(a.errors for a in analyses),
        samples[:MAX_ERROR_SAMPLES],
        price_per_segment,
    )


def _summarize(
    recipients: int,
    counters: Mapping[_Outcome, _Counter],
    errors: int,
    samples: list[RenderFailure],
    price_per_segment: Decimal,
) -> AudienceAnalysis:
    groups: dict[tuple[str, int], int] = {}
    total_segments = 0
    for (encoding, segments, _, _), (count,) in counters.items():
        groups[encoding, segments] = groups.get((encoding, segments), 0) + count
        total_segments += segments * count
    outcomes = list(counters)
    characters = [outcome[2] for outcome in outcomes]
    units = [outcome[3] for outcome in outcomes]
    return AudienceAnalysis(
        recipients=recipients,
        distribution=tuple(
            SegmentGroup(encoding, segments, count)
            for (encoding, segments), count in sorted(groups.items())
        ),
        min_length=min(characters, default=None),
        max_length=max(characters, default=None),
        min_units=min(units, default=None),
        max_units=max(units, default=None),
        format=format_of(outcome[0] for outcome in outcomes),
        total_segments=total_segments,
        estimated_cost=total_segments * price_per_segment,
        errors=errors,
        error_samples=tuple(samples),
    )
