"""Exact encoding analysis, checked by hand on the traps and against independent oracles.

The oracles are the `gsm0338` codec (one byte per septet, an escape byte before each
extension character) and Python's UTF-16 codec; the segment counts are checked against
a deliberately naive packer that walks those encoded units.
"""

from __future__ import annotations

import json
import struct

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sender.compose import encoding
from sender.compose.encoding import (
    GSM7,
    UCS2,
    Analysis,
    analyze,
    is_gsm7,
    segments_for,
    units_of,
)

ESCAPE = 0x1B


# --- independent references -------------------------------------------------------


def gsm_septets(text: str) -> bytes | None:
    """The text as GSM 03.38 septets (one byte each), or None if it is not GSM-7."""
    # The codec passes U+001B through as the escape septet itself; as a character it
    # has no GSM representation.
    if "\x1b" in text:
        return None
    try:
        return text.encode("gsm03.38")
    except UnicodeEncodeError:
        return None


def utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return list(struct.unpack(f"<{len(raw) // 2}H", raw))


def reference_pack(units: list[int], single: int, per: int, unsplittable: range) -> list[int]:
    """Chunk lengths: one chunk if it fits, else `per`-unit chunks never ending on a
    unit in `unsplittable` (the first half of a pair)."""
    if len(units) <= single:
        return [len(units)]
    chunks = []
    start = 0
    while start < len(units):
        end = min(start + per, len(units))
        if end < len(units) and units[end - 1] in unsplittable:
            end -= 1
        chunks.append(end - start)
        start = end
    return chunks


def reference(text: str) -> Analysis:
    septets = gsm_septets(text)
    if septets is not None:
        chunks = reference_pack(list(septets), 160, 153, range(ESCAPE, ESCAPE + 1))
        limit = 160 if len(chunks) == 1 else 153
        return Analysis(GSM7, len(text), len(septets), len(chunks), limit - chunks[-1])
    units = utf16_units(text)
    chunks = reference_pack(units, 70, 67, range(0xD800, 0xDC00))
    limit = 70 if len(chunks) == 1 else 67
    non_gsm = tuple(dict.fromkeys(c for c in text if gsm_septets(c) is None))
    return Analysis(UCS2, len(text), len(units), len(chunks), limit - chunks[-1], non_gsm)


# --- exact cases ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments", "remaining"),
    [(0, 1, 160), (1, 1, 159), (160, 1, 0), (161, 2, 145), (306, 2, 0), (307, 3, 152)],
)
def test_gsm_segment_limits(length: int, segments: int, remaining: int) -> None:
    result = analyze("a" * length)
    assert result == Analysis(GSM7, length, length, segments, remaining)


def test_empty_text_is_one_empty_gsm_segment() -> None:
    assert analyze("") == Analysis(GSM7, 0, 0, 1, 160, ())


def test_escape_pair_is_never_split() -> None:
    # 306 septets would fill two segments exactly, but the euro's escape would be the
    # 153rd septet of the first: the pair moves whole to the second, which overflows.
    result = analyze("a" * 152 + "€" + "a" * 152)
    assert (result.encoding, result.units, result.segments, result.remaining) == (GSM7, 306, 3, 152)


def test_escape_pair_ending_a_segment_exactly_fits() -> None:
    result = analyze("a" * 151 + "€" + "a" * 153)
    assert (result.units, result.segments, result.remaining) == (306, 2, 0)


def test_second_escape_pair_moved_after_a_first() -> None:
    # The first move shifts everything after it: the second euro then starts on the
    # last septet of the second segment and must move too.
    result = analyze("a" * 152 + "€" + "a" * 150 + "€" + "a" * 10)
    assert (result.units, result.segments, result.remaining) == (316, 3, 141)


def test_only_extension_characters() -> None:
    # 76 pairs fill 152 septets; the 77th cannot start on the 153rd.
    result = analyze("€" * 160)
    assert (result.units, result.segments, result.remaining) == (320, 3, 153 - 16)


def test_extension_characters_fitting_one_segment() -> None:
    result = analyze("a" * 158 + "€")
    assert (result.units, result.segments, result.remaining) == (160, 1, 0)
    result = analyze("a" * 159 + "€")
    assert (result.units, result.segments, result.remaining) == (161, 2, 145)


@pytest.mark.parametrize(
    ("length", "segments", "remaining"),
    [(1, 1, 69), (70, 1, 0), (71, 2, 63), (134, 2, 0), (135, 3, 66)],
)
def test_ucs2_segment_limits(length: int, segments: int, remaining: int) -> None:
    result = analyze("ç" * length)
    assert result == Analysis(UCS2, length, length, segments, remaining, ("ç",))


def test_emoji_counts_two_units() -> None:
    assert analyze("😀") == Analysis(UCS2, 1, 2, 1, 68, ("😀",))
    assert analyze("a😀b").units == 4


def test_surrogate_pair_fitting_one_segment() -> None:
    result = analyze("ç" * 66 + "😀")
    assert (result.units, result.segments, result.remaining) == (68, 1, 2)


def test_surrogate_pair_is_never_split() -> None:
    # 134 units would fill two segments, but the high surrogate would be unit 67.
    result = analyze("ç" * 66 + "😀" + "ç" * 66)
    assert (result.units, result.segments, result.remaining) == (134, 3, 66)
    result = analyze("ç" * 65 + "😀" + "ç" * 67)
    assert (result.units, result.segments, result.remaining) == (134, 2, 0)


def test_second_surrogate_pair_moved_after_a_first() -> None:
    result = analyze("ç" * 66 + "😀" + "ç" * 64 + "😀" + "ç" * 10)
    assert (result.units, result.segments, result.remaining) == (144, 3, 55)


@pytest.mark.parametrize("character", list("éèàùÉÇ") + list("ÄÖÑÜäöñüßØøÅåÆæ¿¡§£¥¤@_"))
def test_gsm_latin_letters_and_signs(character: str) -> None:
    result = analyze(f"Merci {character} bientot")
    assert (result.encoding, result.units, result.non_gsm) == (GSM7, 15, ())


@pytest.mark.parametrize("character", list("çêâîôûœŒëïÀÈÊÔÙ’‘“”«»–—…`") + ["\u00a0"])
def test_french_traps_force_ucs2(character: str) -> None:
    result = analyze(f"A {character} bientot")
    assert result.encoding == UCS2
    assert result.non_gsm == (character,)


@pytest.mark.parametrize("character", list("^{}\\[~]|€\f"))
def test_extension_characters_cost_two_septets(character: str) -> None:
    assert analyze(character) == Analysis(GSM7, 1, 2, 1, 158)
    assert analyze("x" + character + "y").units == 4


def test_greek_capitals_are_gsm_but_not_lowercase() -> None:
    assert analyze("ΔΦΓΛΩΠΨΣΘΞ").encoding == GSM7
    assert analyze("Δα").non_gsm == ("α",)


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\t", "\x7f", "\ufffe", "€\x00"])
def test_control_characters_are_not_gsm(character: str) -> None:
    assert analyze(character).encoding == UCS2


def test_non_gsm_lists_each_character_once_in_first_appearance_order() -> None:
    result = analyze("ç ê ç € ’ ê 😀 ’ `")
    assert result.non_gsm == ("ç", "ê", "’", "😀", "`")


def test_non_gsm_of_ascii_text() -> None:
    assert analyze("a`b\tc`").non_gsm == ("`", "\t")


def test_lone_surrogate_counts_one_unit() -> None:
    result = analyze("a\ud83d")
    assert (result.encoding, result.units, result.non_gsm) == (UCS2, 2, ("\ud83d",))


def test_as_dict_is_json_ready() -> None:
    payload = json.loads(json.dumps(analyze("Tarif : 5€ ’").as_dict()))
    assert payload == {
        "encoding": "UCS-2",
        "characters": 12,
        "units": 12,
        "segments": 1,
        "remaining": 58,
        "non_gsm": ["’"],
    }


def test_helpers() -> None:
    assert is_gsm7("Hé {x} €")
    assert not is_gsm7("Hé ç")
    assert not is_gsm7("\x00")
    assert units_of("a€{", GSM7) == 5
    assert units_of("a😀", UCS2) == 3
    assert segments_for(160, GSM7) == 1
    assert segments_for(161, GSM7) == 2
    assert segments_for(70, UCS2) == 1
    assert segments_for(135, UCS2) == 3


def test_results_cache_stays_bounded() -> None:
    for length in range(encoding._CACHE_MAX + 10):
        analyze("ç" * (length % 500) + "x" * (length // 500))
    assert len(encoding._RESULTS) <= encoding._CACHE_MAX


# --- every boundary position, exhaustively ------------------------------------------


@pytest.mark.parametrize("wide", ["€", "{", "\f"])
def test_every_escape_position_matches_reference(wide: str) -> None:
    for before in range(0, 320):
        for after in (0, 1, 150, 153, 160):
            text = "a" * before + wide + "é" * after + wide
            assert analyze(text) == reference(text), (before, after)


def test_every_surrogate_position_matches_reference() -> None:
    for before in range(0, 210):
        for after in (0, 1, 66, 67, 70):
            text = "ç" * before + "😀" + "a" * after + "𝄞"
            assert analyze(text) == reference(text), (before, after)


# --- properties against the oracles -------------------------------------------------

ASCII_GSM = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "`^{}\\[~]|")
EXTENSION = "^{}\\[~]|€\f"
FRENCH_GSM = "éèàùÉÇ\n\r"
FRENCH_NON_GSM = "çêâîôûœŒëïÀ’‘“”«»–—…\u00a0"
ASTRAL = "😀🎉🧾𝄞👍🏽"

gsm_character = st.one_of(
    st.sampled_from(ASCII_GSM),
    st.sampled_from(ASCII_GSM),
    st.sampled_from(EXTENSION),
    st.sampled_from(FRENCH_GSM),
    st.sampled_from("ΔΦΓΛΩΠΨΣΘΞÄÖÑÜäöñüßØøÅåÆæ¿¡§£¥¤@_"),
)
any_character = st.one_of(
    gsm_character,
    st.sampled_from(FRENCH_NON_GSM),
    st.sampled_from(ASTRAL),
    st.characters(exclude_categories=("Cs",)),
    st.characters(min_codepoint=0x10000, exclude_categories=("Cs",)),
)
gsm_texts = st.text(gsm_character, max_size=500)
mixed_texts = st.text(any_character, max_size=500)
# Mostly UCS-2 text with many astral characters, so that pairs meet boundaries.
astral_texts = st.text(
    st.one_of(
        st.sampled_from("aç"),
        st.sampled_from(ASTRAL),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=300,
)
# Runs of one filler then a two-unit character, so that pairs often meet boundaries.
paired_texts = st.lists(
    st.tuples(st.integers(0, 160), st.sampled_from("aéç"), st.sampled_from(EXTENSION + ASTRAL)),
    max_size=6,
).map(lambda runs: "".join(filler * count + wide for count, filler, wide in runs))
texts = st.one_of(gsm_texts, mixed_texts, astral_texts, paired_texts)


@settings(max_examples=400)
@given(texts)
@example("a" * 152 + "€" + "a" * 152)
@example("ç" * 66 + "😀" + "ç" * 66)
@example("`")
def test_analysis_matches_oracles(text: str) -> None:
    assert analyze(text) == reference(text)


@settings(max_examples=200)
@given(texts)
def test_encoding_agrees_with_gsm0338_codec(text: str) -> None:
    septets = gsm_septets(text)
    assert is_gsm7(text) == (septets is not None)
    if septets is not None:
        assert units_of(text, GSM7) == len(septets)
    assert units_of(text, UCS2) == len(text.encode("utf-16-le")) // 2


lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@settings(max_examples=100)
@given(st.text(st.one_of(lone_surrogate, st.sampled_from("aç€😀")), min_size=1, max_size=200))
def test_lone_surrogates_are_counted_not_raised(text: str) -> None:
    result = analyze(text)
    if any("\ud800" <= c <= "\udfff" for c in text):
        assert result.encoding == UCS2
        assert result.units == len(text.encode("utf-16-le", "surrogatepass")) // 2


@settings(max_examples=200)
@given(texts)
def test_analysis_does_not_depend_on_what_came_before(text: str) -> None:
    # Results are shared between equal shapes; a fresh cache must agree.
    first = analyze(text)
    encoding._RESULTS.clear()
    encoding._UNSUPPORTED.clear()
    assert analyze(text) == first
