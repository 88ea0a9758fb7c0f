"""GSM-7 suggestions: what is offered, where, why, and that nothing GSM is touched."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sender.compose.encoding import GSM7, UCS2, analyze, is_gsm7
from sender.compose.suggestions import Replacement, suggest_gsm7


def offered(text: str) -> list[tuple[str, str, str]]:
    return [(r.original, r.replacement, r.reason) for r in suggest_gsm7(text).replacements]


def test_gsm_text_has_nothing_to_suggest() -> None:
    text = "Bonjour Zoé, -20€ sur {tout} !"
    result = suggest_gsm7(text)
    assert result.replacements == ()
    assert result.text == text
    assert result.before == result.after == analyze(text)


def test_curly_quotes_and_positions() -> None:
    text = "L’été “chaud”"
    result = suggest_gsm7(text)
    assert result.replacements == (
        Replacement(1, 2, "’", "'", "curly quote"),
        Replacement(6, 7, "“", '"', "curly quote"),
        Replacement(12, 13, "”", '"', "curly quote"),
    )
    assert result.text == 'L\'été "chaud"'
    assert result.before.encoding == UCS2
    assert result.after.encoding == GSM7


@pytest.mark.parametrize(
    ("character", "replacement", "reason"),
    [
        ("‘", "'", "curly quote"),
        ("’", "'", "curly quote"),
        ("‚", "'", "curly quote"),
        ("“", '"', "curly quote"),
        ("”", '"', "curly quote"),
        ("„", '"', "curly quote"),
        ("′", "'", "prime"),
        ("″", '"', "prime"),
        ("`", "'", "backtick"),
        ("´", "'", "accent mark"),
        ("«", '"', "guillemet"),
        ("»", '"', "guillemet"),
        ("–", "-", "dash"),
        ("—", "-", "dash"),
        ("\u2012", "-", "dash"),
        ("\u2015", "-", "dash"),
        ("\u2011", "-", "dash"),
        ("\u2212", "-", "minus sign"),
        ("…", "...", "ellipsis"),
        ("\u00a0", " ", "non-breaking space"),
        ("\u202f", " ", "non-breaking space"),
        ("\u2000", " ", "Unicode space"),
        ("\u2009", " ", "Unicode space"),
        ("\u200a", " ", "Unicode space"),
        ("\u205f", " ", "Unicode space"),
        ("\u3000", " ", "Unicode space"),
        ("\t", " ", "tab"),
        ("\u200b", "", "invisible character"),
        ("\u200d", "", "invisible character"),
        ("\u2060", "", "invisible character"),
        ("\ufeff", "", "invisible character"),
        ("\u00ad", "", "soft hyphen"),
        ("•", "-", "bullet"),
        ("Ａ", "A", "full-width character"),
        ("ｚ", "z", "full-width character"),
        ("１", "1", "full-width character"),
        ("！", "!", "full-width character"),
        ("｛", "{", "full-width character"),
        ("～", "~", "full-width character"),
        ("｀", "'", "backtick"),
        ("ç", "c", "accented letter"),
        ("ê", "e", "accented letter"),
        ("ë", "e", "accented letter"),
        ("â", "a", "accented letter"),
        ("î", "i", "accented letter"),
        ("ï", "i", "accented letter"),
        ("ô", "o", "accented letter"),
        ("û", "u", "accented letter"),
        ("ÿ", "y", "accented letter"),
        ("À", "A", "accented letter"),
        ("È", "E", "accented letter"),
        ("Ê", "E", "accented letter"),
        ("Î", "I", "accented letter"),
        ("Ô", "O", "accented letter"),
        ("Ù", "U", "accented letter"),
        ("œ", "oe", "ligature"),
        ("Œ", "OE", "ligature"),
        ("ﬁ", "fi", "ligature"),
        ("ã", "a", "accented letter"),
        ("ő", "o", "accented letter"),
        ("ș", "s", "accented letter"),
        ("Ž", "Z", "accented letter"),
        ("ǘ", "ü", "accented letter"),
        ("Ǟ", "Ä", "accented letter"),
        ("ł", "l", "letter not in GSM"),
        ("\u212b", "Å", "equivalent character"),
        ("\u2126", "Ω", "equivalent character"),
        ("²", "2", "compatibility form"),
        ("™", "TM", "compatibility form"),
    ],
)
def test_each_kind_of_replacement(character: str, replacement: str, reason: str) -> None:
    result = suggest_gsm7(f"a{character}b")
    assert result.replacements == (Replacement(1, 2, character, replacement, reason),)
    assert result.text == f"a{replacement}b"
    assert result.after.encoding == GSM7


def test_french_message_becomes_gsm() -> None:
    text = "« Noël » : l’offre spéciale fête — ça commence\u00a0! Réservez… Œuvres à côté"
    result = suggest_gsm7(text)
    assert result.text == (
        '" Noel " : l\'offre spéciale fete - ca commence ! Réservez... OEuvres à coté'
    )
    assert result.before.encoding == UCS2
    assert result.after.encoding == GSM7
    assert result.after.non_gsm == ()


def test_decomposed_accent_becomes_the_gsm_letter() -> None:
    # "é" typed as e + combining acute: the whole pair is replaced by the GSM "é".
    result = suggest_gsm7("Cafe\u0301 ou the\u0302")
    assert offered("Cafe\u0301 ou the\u0302") == [
        ("e\u0301", "é", "decomposed accent"),
        ("e\u0302", "e", "accented letter"),
    ]
    assert result.replacements[0].start == 3
    assert result.replacements[0].end == 5
    assert result.text == "Café ou the"


def test_stray_combining_mark_is_removed() -> None:
    assert offered("\u0301abc") == [("\u0301", "", "combining mark")]


def test_zero_width_characters_are_removed_with_exact_positions() -> None:
    text = "pro\u200bmo\ufeff"
    result = suggest_gsm7(text)
    assert [(r.start, r.end) for r in result.replacements] == [(3, 4), (6, 7)]
    assert result.text == "promo"
    assert result.after == analyze("promo")


def test_nothing_is_offered_when_an_emoji_keeps_the_message_ucs2_at_the_same_length() -> None:
    """Accepting would spoil the spelling and save nothing: still UCS-2, still as many
    segments."""
    for text in ("Super 🎉 l’offre à 5€", "Fête de Noël 🎁 : -20 % sur tout le magasin"):
        result = suggest_gsm7(text)
        assert offered(text) == []
        assert result.text == text
        assert result.after == result.before == analyze(text)


def test_with_an_emoji_a_replacement_that_saves_a_segment_is_offered() -> None:
    text = "Super 🎉 l’offre\u200b" + "x" * 54  # 71 UCS-2 units: 2 segments
    result = suggest_gsm7(text)
    assert (result.before.segments, result.after.segments) == (2, 1)
    assert result.after.encoding == UCS2
    assert result.after.non_gsm == ("🎉",)
    assert offered(text) == [("’", "'", "curly quote"), ("\u200b", "", "invisible character")]


def test_joiner_inside_an_emoji_is_left_alone() -> None:
    family = "👨\u200d👩\u200d👧"
    text = f"{family} a\u200db" + "x" * 59  # 71 units: the stray joiner costs a segment
    result = suggest_gsm7(text)
    assert offered(text) == [("\u200d", "", "invisible character")]
    assert result.replacements[0].start == len(family) + 2


def test_character_without_equivalent_is_not_offered() -> None:
    assert offered("α β 你好") == []
    assert suggest_gsm7("你好").text == "你好"


def test_as_dict_is_json_ready() -> None:
    payload = json.loads(json.dumps(suggest_gsm7("C’est…").as_dict()))
    assert payload["text"] == "C'est..."
    assert payload["replacements"] == [
        {"start": 1, "end": 2, "original": "’", "replacement": "'", "reason": "curly quote"},
        {"start": 5, "end": 6, "original": "…", "replacement": "...", "reason": "ellipsis"},
    ]
    assert payload["before"]["encoding"] == "UCS-2"
    assert payload["after"] == analyze("C'est...").as_dict()


# --- properties -----------------------------------------------------------------------

suggestion_texts = st.text(
    st.one_of(
        st.sampled_from("aZ5 .'€{éèàÇ"),
        st.sampled_from("’“”«»–—…\u00a0\u202f\u200b\u200d\ufeffçêâîôûœŒÀ•ＡＺ｀\u0301\u0327"),
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from("🎉😀👍🏽"),
    ),
    max_size=200,
)


@settings(max_examples=300)
@given(suggestion_texts)
def test_replacements_rebuild_the_suggested_text(text: str) -> None:
    result = suggest_gsm7(text)
    assert result.before == analyze(text)
    assert result.after == analyze(result.text)

    rebuilt, done = [], 0
    for replacement in result.replacements:
        assert done <= replacement.start < replacement.end
        assert text[replacement.start : replacement.end] == replacement.original
        # Only non-GSM text is ever replaced, and always by GSM text.
        assert not is_gsm7(replacement.original)
        assert is_gsm7(replacement.replacement)
        assert replacement.reason
        rebuilt += [text[done : replacement.start], replacement.replacement]
        done = replacement.end
    rebuilt.append(text[done:])
    assert "".join(rebuilt) == result.text


@settings(max_examples=300)
@given(suggestion_texts)
def test_what_stays_non_gsm_has_no_equivalent(text: str) -> None:
    result = suggest_gsm7(text)
    if not result.replacements:
        return  # nothing offered: nothing to hold to (see the next property)
    for character in result.after.non_gsm:
        if character in "\u200c\u200d" or unicodedata.category(character).startswith("M"):
            continue  # kept because of their neighbours, checked above by example
        if all(_joined(result.text, at) for at in _positions(result.text, character)):
            continue  # a base that marks or joiners hold: a cluster is never split
        assert suggest_gsm7(character).replacements == ()


@settings(max_examples=300)
@given(suggestion_texts)
def test_a_suggestion_is_offered_only_when_it_saves_something(text: str) -> None:
    result = suggest_gsm7(text)
    if result.replacements:
        assert (
            result.after.encoding != result.before.encoding
            or result.after.segments < result.before.segments
        )
    else:
        assert result.text == text and result.after == result.before


def _positions(text: str, character: str) -> list[int]:
    return [i for i, c in enumerate(text) if c == character]


def _joined(text: str, at: int) -> bool:
    """Whether the character at `at` belongs to a longer cluster: a mark, variation
    selector or joiner follows it, or a joiner precedes it."""
    after = text[at + 1 : at + 2]
    before = text[at - 1 : at] if at else ""
    return (bool(after) and (after in "\u200d\ufe0e\ufe0f" or
            unicodedata.category(after).startswith("M"))) or before == "\u200d"
