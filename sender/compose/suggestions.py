"""Replacements that would keep a message in GSM-7, offered to the marketer, never applied.

One curly apostrophe pasted from a word processor turns a whole message into UCS-2,
cutting a segment from 160 characters to 70. `suggest_gsm7` lists, for every character
(or letter with combining accents) that is not GSM, the closest GSM spelling when there
is one, with where it is and why, so the composer can show them as a diff to accept,
with the encoding and segments before and after. Nothing is offered that changes neither.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from richsms.types import AsDict
from sender.compose.encoding import Analysis, analyze, is_gsm7

# Replacements chosen by hand, keyed by reason. Letters with accents are not listed:
# they are found by decomposition, see `_closest_gsm`.
_REPLACEMENTS_BY_REASON: dict[str, dict[str, str]] = {
    "curly quote": {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
    },
    "prime": {"\u2032": "'", "\u2033": '"', "\u2035": "'", "\u2036": '"'},
    "accent mark": {"\u00b4": "'", "\u02bc": "'", "\u02b9": "'"},
    "backtick": {"`": "'", "\uff40": "'"},
    "guillemet": {"\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'"},
    "dash": {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2e3a": "--",
        "\u2e3b": "---",
    },
    "minus sign": {"\u2212": "-"},
    "ellipsis": {"\u2026": "..."},
    "non-breaking space": {"\u00a0": " ", "\u202f": " ", "\u2007": " "},
    "Unicode space": {
        **{chr(code): " " for code in range(0x2000, 0x200B) if code != 0x2007},
        "\u205f": " ",
        "\u3000": " ",
    },
    "tab": {"\t": " "},
    "invisible character": {
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",
        "\ufeff": "",
        "\u200e": "",
        "\u200f": "",
    },
    "soft hyphen": {"\u00ad": ""},
    "bullet": {"\u2022": "-", "\u2023": "-", "\u25e6": "-", "\u2043": "-", "\u2219": "-"},
    "ligature": {
        "\u0153": "oe",
        "\u0152": "OE",
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    },
    # Letters with a stroke or without a dot have no decomposition to a base letter.
    "letter not in GSM": {
        "\u0142": "l",
        "\u0141": "L",
        "\u0111": "d",
        "\u0110": "D",
        "\u0131": "i",
        "\u0127": "h",
        "\u0126": "H",
        "\u0167": "t",
        "\u0166": "T",
        "\u1e9e": "SS",
    },
}
_REPLACEMENTS: dict[str, tuple[str, str]] = {
    character: (replacement, reason)
    for reason, table in _REPLACEMENTS_BY_REASON.items()
    for character, replacement in table.items()
}

_FULL_WIDTH_FIRST, _FULL_WIDTH_LAST = "\uff01", "\uff5e"
_FULL_WIDTH_OFFSET = 0xFEE0

# Joiners glue emoji into one picture: removing them is only offered when the characters
# around them are, or will be, GSM, since otherwise the text stays UCS-2 anyway and the
# picture would fall apart.
_JOINERS = frozenset("\u200c\u200d")


@dataclass(frozen=True, slots=True)
class Replacement(AsDict):
    """Replace `text[start:end]`, which is `original`, by `replacement`."""

    start: int
    end: int
    original: str
    replacement: str
    reason: str


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The replacements offered for a text, and what accepting them all would give."""

    replacements: tuple[Replacement, ...]
    text: str
    before: Analysis
    after: Analysis

    def as_dict(self) -> dict[str, object]:
        return {
            "replacements": [replacement.as_dict() for replacement in self.replacements],
            "text": self.text,
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


def suggest_gsm7(text: str) -> Suggestions:
    """GSM-7 spellings for the non-GSM parts of `text`, in text order."""
    before = analyze(text)
    if not before.non_gsm:
        return Suggestions((), text, before, before)

    clusters = _clusters(text)
    found: list[tuple[int, int, tuple[str, str] | None]] = [
        (start, end, _closest_gsm(text[start:end]))
        for start, end in clusters
        if not is_gsm7(text[start:end])
    ]
    # Which clusters will still be non-GSM once everything offered is accepted.
    stuck = {start for start, _, suggestion in found if suggestion is None}
    ends_of_stuck = {end for start, end, suggestion in found if suggestion is None}

    replacements = []
    for start, end, suggestion in found:
        if suggestion is None:
            continue
        if text[start:end] in _JOINERS and (start in ends_of_stuck or end in stuck):
            continue
        replacement, reason = suggestion
        replacements.append(Replacement(start, end, text[start:end], replacement, reason))

    suggested = _apply(text, replacements)
    after = analyze(suggested)
    if after.encoding == before.encoding and after.segments >= before.segments:
        # Still UCS-2 (an emoji stays), no segment saved: accepting would only spoil the
        # spelling ("Fête de Noël 🎁" is no cheaper as "Fete de Noel 🎁").
        return Suggestions((), text, before, before)
    return Suggestions(tuple(replacements), suggested, before, after)


def _clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each character with the combining marks that follow it."""
    clusters: list[tuple[int, int]] = []
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or not unicodedata.category(text[index]).startswith("M"):
            clusters.append((start, index))
            start = index
    return clusters


def _closest_gsm(cluster: str) -> tuple[str, str] | None:
    """(GSM spelling, reason) for one character with its combining marks, if any."""
    composed = unicodedata.normalize("NFC", cluster)
    if composed != cluster and is_gsm7(composed):
        # A letter typed as base + combining accent (macOS does this) that GSM has whole.
        return composed, "decomposed accent" if len(cluster) > 1 else "equivalent character"
    if composed in _REPLACEMENTS:
        return _REPLACEMENTS[composed]
    if len(composed) == 1 and _FULL_WIDTH_FIRST <= composed <= _FULL_WIDTH_LAST:
        narrow = chr(ord(composed) - _FULL_WIDTH_OFFSET)
        if is_gsm7(narrow):
            return narrow, "full-width character"

    # Drop accents from the last inwards and keep the first spelling GSM has:
    # ǘ gives ü (GSM) rather than u, ê gives e.
    decomposed = unicodedata.normalize("NFD", composed)
    base, marks = decomposed[0], decomposed[1:]
    if marks and all(unicodedata.category(mark).startswith("M") for mark in marks):
        for kept in range(len(marks) - 1, -1, -1):
            candidate = unicodedata.normalize("NFC", base + marks[:kept])
            if is_gsm7(candidate):
                reason = "accented letter" if candidate.isalpha() else "combining mark"
                return candidate, reason
    if unicodedata.category(base).startswith("M"):
        return "", "combining mark"

    compatible = unicodedata.normalize("NFKC", composed)
    if compatible and compatible != composed and is_gsm7(compatible):
        return compatible, "compatibility form"
    return None


def _apply(text: str, replacements: list[Replacement]) -> str:
    pieces = []
    done = 0
    for replacement in replacements:
        pieces.append(text[done : replacement.start])
        pieces.append(replacement.replacement)
        done = replacement.end
    pieces.append(text[done:])
    return "".join(pieces)
