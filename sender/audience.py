"""What a campaign will cost: the exact analysis over an audience, or the estimate without one.

Over an audience, every recipient's message is measured exactly. A message depends only on
the values of the fields the template reads (and on the language, for the opt-out
mention), so recipients sharing those values share one render and one analysis: the
audience is streamed once, and only new combinations of values are rendered.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Final

from richsms.errors import InvalidInput
from sender.encoding import GSM7, UCS2, Analysis, analyze
from sender.optout import OptOutTexts, append_mention, with_opt_out
from sender.templates import MessageTemplate, TemplateError

# Bounds the memory of the render cache when (almost) every recipient is distinct:
# clearing costs a few re-renders, keeping every entry would grow with the audience.
CACHE_LIMIT: Final = 200_000
MAX_ERROR_SAMPLES: Final = 10

# Lengths assumed, in characters, for the fields the marketer gave no range for.
DEFAULT_FIELD_LENGTHS: Final[Mapping[str, tuple[int, int]]] = {
    "first_name": (2, 12),
    "last_name": (2, 16),
}
DEFAULT_OTHER_FIELD_LENGTH: Final = (0, 20)

# Short links are a prefix and an alphanumeric code: plain GSM-7 characters, one unit each.
_LINK_FILLER: Final = "x"
_FIELD_FILLER: Final = "x"

VARIABLE: Final = "variable"


def placeholder_link(length: int) -> str:
    """A stand-in for a short link of `length` characters, measured like the real one."""
    if length < 0:
        raise InvalidInput("The link length cannot be negative", code="invalid_link_length")
    return _LINK_FILLER * length


def _format_of(encodings: Iterable[str]) -> str | None:
    seen = set(encodings)
    if not seen:
        return None
    return seen.pop() if len(seen) == 1 else VARIABLE


# --- Over an audience ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentGroup:
    """How many recipients get a message of this encoding and this many segments."""

    encoding: str
    segments: int
    recipients: int

    def as_dict(self) -> dict[str, object]:
        return {"encoding": self.encoding, "segments": self.segments, "recipients": self.recipients}


@dataclass(frozen=True, slots=True)
class RenderFailure:
    """A contact whose message could not be rendered; `index` counts from 0 in the audience."""

    index: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "reason": self.reason}


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
        return {
            "recipients": self.recipients,
            "distribution": [group.as_dict() for group in self.distribution],
            "min_length": self.min_length,
            "max_length": self.max_length,
            "min_units": self.min_units,
            "max_units": self.max_units,
            "format": self.format,
            "total_segments": self.total_segments,
            "estimated_cost": str(self.estimated_cost),
            "errors": self.errors,
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


def analyze_audience(
    template: MessageTemplate,
    contacts: Iterable[Mapping[str, object]],
    *,
    link_length: int,
    opt_out: OptOutTexts | None,
    price_per_segment: Decimal,
    cache_limit: int = CACHE_LIMIT,
) -> AudienceAnalysis:
    """Measure every recipient's message exactly, streaming `contacts` once.

    `cache_limit` bounds the renders kept for reuse (the memory stays flat whatever
    the audience's size); it only changes the speed, never the result.
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

    def measure(index: int, contact: Mapping[str, object], key: object) -> _Counter:
        try:
            body = render(contact, link)
        except TemplateError as error:
            if len(samples) < MAX_ERROR_SAMPLES:
                samples.append(RenderFailure(index, error.message))
            counter = failed
        else:
            if opt_out is not None:
                body = append_mention(body, mention_for(contact.get("language")))
            result = analyze(body)
            outcome = (result.encoding, result.segments, result.characters, result.units)
            counter = counters.get(outcome) or counters.setdefault(outcome, [0])
        if _cacheable(key):
            if len(cache) >= cache_limit:
                cache.clear()
            cache[key] = counter
        return counter

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
        format=_format_of(outcome[0] for outcome in outcomes),
        total_segments=total_segments,
        estimated_cost=total_segments * price_per_segment,
        errors=errors,
        error_samples=tuple(samples),
    )


# --- Without an audience ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateEstimate:
    """The range a message can take, from the fields' expected lengths.

    `encoding` is "GSM-7", "UCS-2" or "variable" (when a `default(...)` text is not
    GSM-7). When it is GSM-7, `assumes_gsm_fields` says that the figures hold only if
    the recipients' values are GSM-7 too: a "ç" in a name switches that message to UCS-2.
    """

    min_length: int
    max_length: int
    min_units: int
    max_units: int
    min_segments: int
    max_segments: int
    min_cost: Decimal
    max_cost: Decimal
    encoding: str
    assumes_gsm_fields: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "min_length": self.min_length,
            "max_length": self.max_length,
            "min_units": self.min_units,
            "max_units": self.max_units,
            "min_segments": self.min_segments,
            "max_segments": self.max_segments,
            "min_cost": str(self.min_cost),
            "max_cost": str(self.max_cost),
            "encoding": self.encoding,
            "assumes_gsm_fields": self.assumes_gsm_fields,
        }


# Past this many combinations of candidate lengths, each field is optimised in turn.
_EXHAUSTIVE_LIMIT: Final = 4096


def _length_range(name: str, field_lengths: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    shortest, longest = field_lengths.get(
        name, DEFAULT_FIELD_LENGTHS.get(name, DEFAULT_OTHER_FIELD_LENGTH)
    )
    if not 0 <= shortest <= longest:
        raise InvalidInput(
            f"Invalid length range for '{name}': {shortest}..{longest}", code="invalid_length"
        )
    return shortest, longest


def _candidates(shortest: int, longest: int) -> tuple[int, ...]:
    # Lengths are monotonic except at 0, where `default(...)` replaces the empty value:
    # a 1-character value may then be the shortest message.
    lengths = {shortest, longest}
    if shortest == 0 and longest >= 1:
        lengths.add(1)
    return tuple(sorted(lengths))


def estimate_template(
    template: MessageTemplate,
    *,
    field_lengths: Mapping[str, tuple[int, int]],
    link_length: int,
    opt_out: OptOutTexts | None,
    price_per_segment: Decimal,
    language: str = "en",
) -> TemplateEstimate:
    """Shortest and longest message for field values within their expected lengths."""
    link = placeholder_link(link_length)
    names = template.fields
    choices = [_candidates(*_length_range(name, field_lengths)) for name in names]

    def measure(lengths: tuple[int, ...]) -> Analysis:
        contact: dict[str, object] = {
            name: _FIELD_FILLER * length for name, length in zip(names, lengths, strict=True)
        }
        if "language" not in names:
            contact["language"] = language
        body = template.render(contact, link)
        if opt_out is not None:
            body = with_opt_out(body, language=language, texts=opt_out)
        return analyze(body)

    def size(result: Analysis) -> tuple[int, int]:
        return result.units, result.characters

    combinations = 1
    for lengths in choices:
        combinations *= len(lengths)
    if combinations <= _EXHAUSTIVE_LIMIT:
        results = [measure(lengths) for lengths in itertools.product(*choices)]
        shortest = min(results, key=size)
        longest = max(results, key=size)
    else:
        shortest = _coordinate_search(choices, measure, size, lowest=True)
        longest = _coordinate_search(choices, measure, size, lowest=False)

    encoding = _format_of((shortest.encoding, longest.encoding)) or GSM7
    return TemplateEstimate(
        min_length=shortest.characters,
        max_length=longest.characters,
        min_units=shortest.units,
        max_units=longest.units,
        min_segments=shortest.segments,
        max_segments=longest.segments,
        min_cost=shortest.segments * price_per_segment,
        max_cost=longest.segments * price_per_segment,
        encoding=encoding,
        assumes_gsm_fields=encoding != UCS2 and bool(names),
    )


def _coordinate_search(
    choices: list[tuple[int, ...]],
    measure: Callable[[tuple[int, ...]], Analysis],
    size: Callable[[Analysis], tuple[int, int]],
    *,
    lowest: bool,
) -> Analysis:
    """Pick each field's length in turn, the others fixed: exact when fields add up."""

    def better(result: Analysis, best: Analysis) -> bool:
        return size(result) < size(best) if lowest else size(result) > size(best)

    current = [lengths[0] if lowest else lengths[-1] for lengths in choices]
    best = measure(tuple(current))
    for position, lengths in enumerate(choices):
        for length in lengths:
            trial = current.copy()
            trial[position] = length
            result = measure(tuple(trial))
            if better(result, best):
                best, current = result, trial
    return best
