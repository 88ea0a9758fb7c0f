"""Exact SMS encoding analysis: GSM-7 septets or UCS-2 (UTF-16) code units, and segments.

The hot path runs once per recipient when a campaign is analysed, so every pass over
the text is a C-level str/bytes/codec operation. Python only loops over segment
boundaries and over characters outside the BMP, and only for multi-segment texts.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import asdict, dataclass
from typing import Final, Literal, TypeVar

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

_GSM_SINGLE: Final = SINGLE_LIMIT[GSM7]
_GSM_PER_SEGMENT: Final = MULTI_LIMIT[GSM7]
_UCS2_SINGLE: Final = SINGLE_LIMIT[UCS2]
_UCS2_PER_SEGMENT: Final = MULTI_LIMIT[UCS2]

# Texts made only of Latin-1 characters (ASCII, French) are decided on their bytes,
# which are a plain copy of the string, with byte-table operations.
_LATIN1_BASIC: Final = "".join(c for c in GSM_BASIC if c <= "\xff").encode("latin-1")
_LATIN1_EXTENSION: Final = "".join(c for c in GSM_EXTENSION if c <= "\xff").encode("latin-1")

# Other texts go through a private charmap codec, which the C encoder runs: one byte per
# character, the basic alphabet below 0x80 and the extension table from 0x80, so an
# encoding that is ASCII has no two-septet character. The C encoding map requires byte
# 0 to stand for NUL, which is not GSM, hence the separate NUL test.
_EXTENSION_CODE: Final = 0x80
_CHARMAP_TABLE: Final = ("\x00" + GSM_BASIC).ljust(_EXTENSION_CODE, "\ufffe") + GSM_EXTENSION
_GSM_CHARMAP: Final = codecs.charmap_build(_CHARMAP_TABLE.ljust(256, "\ufffe"))
_BASIC_CODES: Final = bytes(range(_EXTENSION_CODE))
_charmap_encode: Final = codecs.charmap_encode

# To find segment boundaries a two-septet character is spelled, as when it is sent, as
# an escape and its own byte. The marker used for the escape is neither a charmap code
# nor a GSM Latin-1 byte (it is ÿ); keys cover both one-byte spellings of the table.
_ESCAPE_MARK: Final = 0xFF
_ESCAPED: Final = {
    code: (bytes([code]), bytes([_ESCAPE_MARK, code]))
    for code in (
        *range(_EXTENSION_CODE, _EXTENSION_CODE + len(GSM_EXTENSION)),
        *_LATIN1_EXTENSION,
    )
}

_NON_GSM: Final = re.compile("[^" + re.escape(GSM_BASIC + GSM_EXTENSION) + "]")
_ASTRAL: Final = re.compile("[\U00010000-\U0010ffff]")

# Over a campaign texts differ but their shapes repeat: few distinct lengths, the same
# few non-GSM characters. Analyses are immutable, so equal results share one instance
# (building a frozen dataclass costs more than analysing a short text), and the facts
# about a text's non-GSM characters are worked out once. Both caches are bounded.
_CACHE_MAX: Final = 4096
_CACHEABLE_KEY_LENGTH: Final = 64
_RESULTS: dict[tuple[str, int, int, int, tuple[str, ...]], Analysis] = {}
_UNSUPPORTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

_K = TypeVar("_K")
_V = TypeVar("_V")


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
        return asdict(self) | {"non_gsm": list(self.non_gsm)}


def analyze(text: str) -> Analysis:
    """Encoding, length in units and number of segments of `text`, exactly."""
    characters = len(text)
    latin = text.encode("latin-1", "ignore")
    if len(latin) == characters:
        return _analyze_latin1(text, latin, characters)
    # Above Latin-1, GSM has only the euro sign and ten Greek capitals: any other such
    # character means UCS-2, so look for the non-GSM characters straight away.
    if characters - len(latin) != text.count("€"):
        unsupported = "".join(_NON_GSM.findall(text))
        if unsupported:
            return _ucs2(text, characters, unsupported)
    encoded = _charmap_encode(text, "ignore", _GSM_CHARMAP)[0]
    if len(encoded) == characters and b"\x00" not in encoded:
        if encoded.isascii():
            return _result(GSM7, characters, characters, 0)
        return _gsm_with_extension(encoded, encoded.translate(None, _BASIC_CODES), characters)
    return _ucs2(text, characters, "".join(_NON_GSM.findall(text)))


def is_gsm7(text: str) -> bool:
    encoded = _charmap_encode(text, "ignore", _GSM_CHARMAP)[0]
    return len(encoded) == len(text) and b"\x00" not in encoded


def units_of(text: str, encoding: Encoding) -> int:
    """Units `text` takes in `encoding` (GSM-7 text is assumed representable)."""
    if encoding == GSM7:
        encoded = _charmap_encode(text, "ignore", _GSM_CHARMAP)[0]
        return len(text) + len(encoded.translate(None, _BASIC_CODES))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def segments_for(units: int, encoding: Encoding) -> int:
    """Segments for `units` units when no pair can straddle a boundary."""
    if units <= SINGLE_LIMIT[encoding]:
        return 1
    per = MULTI_LIMIT[encoding]
    return -(-units // per)


def _analyze_latin1(text: str, latin: bytes, characters: int) -> Analysis:
    """`text`, all of whose characters are Latin-1, given also as `latin`, its bytes."""
    # What is left once the basic alphabet is removed: extension or non-GSM bytes.
    odd = latin.translate(None, _LATIN1_BASIC)
    if not odd:
        return _result(GSM7, characters, characters, 0)
    unsupported = odd.translate(None, _LATIN1_EXTENSION)
    if not unsupported:
        return _gsm_with_extension(latin, odd, characters)
    return _ucs2(text, characters, unsupported.decode("latin-1"))


def _gsm_with_extension(single: bytes, wides: bytes, characters: int) -> Analysis:
    """GSM-7 text as one byte per character; `wides` are its two-septet bytes, in order."""
    units = characters + len(wides)
    if units <= _GSM_SINGLE:
        return _result(GSM7, characters, units, 0)
    septets = single
    for code in set(wides):
        septets = septets.replace(*_ESCAPED[code])
    # A segment that would end on an escape ends one septet early instead.
    per = _GSM_PER_SEGMENT
    start = padding = 0
    while units - start > per:
        start += per
        if septets[start - 1] == _ESCAPE_MARK:
            start -= 1
            padding += 1
    return _result(GSM7, characters, units, padding)


def _ucs2(text: str, characters: int, unsupported: str) -> Analysis:
    """UCS-2 `text`, given with its non-GSM characters in order, repeats included."""
    facts = _UNSUPPORTED.get(unsupported)
    if facts is None:
        # Only non-GSM characters can lie outside the BMP, so they are looked for here.
        facts = tuple(dict.fromkeys(unsupported)), tuple(_ASTRAL.findall(unsupported))
        if len(unsupported) <= _CACHEABLE_KEY_LENGTH:
            _remember(_UNSUPPORTED, unsupported, facts)
    non_gsm, astral = facts
    units = characters + len(astral)
    padding = 0
    if astral and units > _UCS2_SINGLE:
        padding = _surrogate_padding(text, astral)
    return _result(UCS2, characters, units, padding, non_gsm)


def _surrogate_padding(text: str, astral: tuple[str, ...]) -> int:
    """Units left blank at segment ends so that no surrogate pair is split.

    `astral` are the text's characters outside the BMP, in order. A segment that would
    end on a high surrogate ends one unit early, which pushes every later unit one
    further: hence the running shift (pairs seen plus padding) on top of the index.
    """
    per = _UCS2_PER_SEGMENT
    last = per - 1
    shift = padding = 0
    index = -1
    for character in astral:
        index = text.find(character, index + 1)
        if (index + shift) % per == last:
            padding += 1
            shift += 1
        shift += 1
    return padding


def _result(
    encoding: Encoding,
    characters: int,
    units: int,
    padding: int,
    non_gsm: tuple[str, ...] = (),
) -> Analysis:
    """The analysis of a text of `units` units that needs `padding` blank units."""
    key = (encoding, characters, units, padding, non_gsm)
    shared = _RESULTS.get(key)
    if shared is not None:
        return shared
    single = SINGLE_LIMIT[encoding]
    if units <= single:
        segments, remaining = 1, single - units
    else:
        per = MULTI_LIMIT[encoding]
        filled = units + padding
        segments = -(-filled // per)
        remaining = segments * per - filled
    analysis = Analysis(encoding, characters, units, segments, remaining, non_gsm)
    if len(non_gsm) <= _CACHEABLE_KEY_LENGTH:
        _remember(_RESULTS, key, analysis)
    return analysis


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
