"""Exact SMS encoding analysis: GSM-7 septets or UCS-2 (UTF-16) code units, and segments.

The hot path runs once per recipient when a campaign is analysed, so the common cases
(all-ASCII text, text that fits one segment) are answered by C-level string operations;
the character-by-character walk only runs when an escape pair or a surrogate pair could
straddle a segment boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# 3GPP TS 23.038 default alphabet, in table order (0x1B, the escape, is left out).
GSM_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus its own.
GSM_EXTENSION: Final = "\f^{}\\[~]|€"

SINGLE_LIMIT: Final = {GSM7: 160, UCS2: 70}
MULTI_LIMIT: Final = {GSM7: 153, UCS2: 67}

_GSM_ALL = frozenset(GSM_BASIC + GSM_EXTENSION)
_EXTENSION = frozenset(GSM_EXTENSION)
_NON_GSM = re.compile("[^" + re.escape(GSM_BASIC + GSM_EXTENSION) + "]")
_ASCII_NON_GSM = re.compile(
    b"[^" + re.escape("".join(c for c in GSM_BASIC + GSM_EXTENSION if c.isascii()).encode()) + b"]"
)
_ASCII_EXTENSION = "".join(c for c in GSM_EXTENSION if c.isascii()).encode()
_EXTENSION_RE = re.compile("[" + re.escape(GSM_EXTENSION) + "]")


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one message costs.

    `units` are septets for GSM-7 (an extension character counts 2) and UTF-16 code
    units for UCS-2 (a character outside the BMP counts 2). `non_gsm` lists, in order of
    first appearance, the characters that forced UCS-2.
    """

    encoding: Encoding
    characters: int
    units: int
    segments: int
    remaining: int
    non_gsm: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "units": self.units,
            "segments": self.segments,
            "remaining": self.remaining,
            "non_gsm": list(self.non_gsm),
        }


def analyze(text: str) -> Analysis:
    """Encoding, length in units and number of segments of `text`, exactly."""
    characters = len(text)
    if text.isascii():
        raw = text.encode("ascii")
        if _ASCII_NON_GSM.search(raw) is None:
            wide = characters - len(raw.translate(None, _ASCII_EXTENSION))
            return _sized(text, GSM7, characters, characters + wide, wide)
        non_gsm = tuple(dict.fromkeys(m.decode() for m in _ASCII_NON_GSM.findall(raw)))
        return _sized(text, UCS2, characters, characters, 0, non_gsm)
    if _NON_GSM.search(text) is None:
        wide = len(_EXTENSION_RE.findall(text))
        return _sized(text, GSM7, characters, characters + wide, wide)
    non_gsm = tuple(dict.fromkeys(_NON_GSM.findall(text)))
    units = len(text.encode("utf-16-le")) // 2
    return _sized(text, UCS2, characters, units, units - characters, non_gsm)


def is_gsm7(text: str) -> bool:
    return _NON_GSM.search(text) is None


def units_of(text: str, encoding: Encoding) -> int:
    """Units `text` takes in `encoding` (GSM-7 text is assumed representable)."""
    if encoding == GSM7:
        return len(text) + len(_EXTENSION_RE.findall(text))
    return len(text.encode("utf-16-le")) // 2


def segments_for(units: int, encoding: Encoding) -> int:
    """Segments for `units` units when no pair can straddle a boundary."""
    if units <= SINGLE_LIMIT[encoding]:
        return 1
    per = MULTI_LIMIT[encoding]
    return -(-units // per)


def _sized(
    text: str,
    encoding: Encoding,
    characters: int,
    units: int,
    wide: int,
    non_gsm: tuple[str, ...] = (),
) -> Analysis:
    single = SINGLE_LIMIT[encoding]
    if units <= single:
        return Analysis(encoding, characters, units, 1, single - units, non_gsm)
    per = MULTI_LIMIT[encoding]
    if wide == 0:
        segments = -(-units // per)
        return Analysis(encoding, characters, units, segments, segments * per - units, non_gsm)
    segments, used = _pack(text, encoding, per)
    return Analysis(encoding, characters, units, segments, per - used, non_gsm)


def _pack(text: str, encoding: Encoding, per: int) -> tuple[int, int]:
    """Greedy fill of segments of `per` units, never splitting a two-unit character."""
    segments, used = 1, 0
    if encoding == GSM7:
        for ch in text:
            cost = 2 if ch in _EXTENSION else 1
            if used + cost > per:
                segments += 1
                used = 0
            used += cost
    else:
        for ch in text:
            cost = 2 if ord(ch) > 0xFFFF else 1
            if used + cost > per:
                segments += 1
                used = 0
            used += cost
    return segments, used
