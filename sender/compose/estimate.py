"""What a message will cost without an audience: the range from the fields' expected lengths."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Final

from richsms.errors import InvalidInput
from sender.compose.encoding import GSM7, UCS2, Analysis, analyze
from sender.compose.optout_mention import OptOutTexts, with_opt_out
from sender.compose.templates import MessageTemplate

# Lengths assumed, in characters, for the fields the marketer gave no range for.
DEFAULT_FIELD_LENGTHS: Final[Mapping[str, tuple[int, int]]] = {
    "first_name": (2, 12),
    "last_name": (2, 16),
}
DEFAULT_OTHER_FIELD_LENGTH: Final = (0, 20)
# The longest value a field may be assumed to have: a longer one is no SMS field.
MAX_FIELD_LENGTH: Final = 1_000
_FIELD_FILLER: Final = "x"
VARIABLE: Final = "variable"
_LINK_FILLER: Final = "x"


def placeholder_link(length: int) -> str:
    """A stand-in for a short link of `length` characters, measured like the real one."""
    if length < 0:
        raise InvalidInput("The link length cannot be negative", code="invalid_link_length")
    return _LINK_FILLER * length


def format_of(encodings: Iterable[str]) -> str | None:
    seen = set(encodings)
    if not seen:
        return None
    return seen.pop() if len(seen) == 1 else VARIABLE


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
        return asdict(self) | {"min_cost": str(self.min_cost), "max_cost": str(self.max_cost)}


# Past this many combinations of candidate lengths, each field is optimised in turn.
_EXHAUSTIVE_LIMIT: Final = 4096


def _length_range(name: str, field_lengths: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    shortest, longest = field_lengths.get(
        name, DEFAULT_FIELD_LENGTHS.get(name, DEFAULT_OTHER_FIELD_LENGTH)
    )
    if not 0 <= shortest <= longest <= MAX_FIELD_LENGTH:
        raise InvalidInput(
            f"Invalid length range for '{name}': {shortest}..{longest} "
            f"(lengths are 0 to {MAX_FIELD_LENGTH}, the first at most the second)",
            code="invalid_length",
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

    encoding = format_of((shortest.encoding, longest.encoding)) or GSM7
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
