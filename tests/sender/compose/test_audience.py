from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Mapping
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sender.compose.analysis
from richsms.errors import InvalidInput
from sender.compose.analysis import analyze_audience, estimate_template
from sender.compose.encoding import analyze
from sender.compose.optout_mention import OptOutTexts, with_opt_out
from sender.compose.templates import MessageTemplate, TemplateError, compile_template

PRICE = Decimal("0.05")
TEXTS = OptOutTexts(en="STOP to 36111", fr="STOP au 36111")
GREETING = compile_template('Bonjour {{ contact.first_name | default("ami") }} ! {{ link }}')
GREETING_FIXED = len("Bonjour  ! ")  # 11 characters around the name


def audience(*contacts: Mapping[str, object]) -> Iterator[Mapping[str, object]]:
    # A generator, as the real audience streams from the database.
    yield from contacts


# --- Over an audience ------------------------------------------------------------------


def test_hand_checked_distribution() -> None:
    long_name = "Marie-" + "x" * 144  # 150 characters: 11 + 150 + 20 = 181 > 160
    result = analyze_audience(
        GREETING,
        audience(
            {"first_name": "Jean"},  # GSM-7, 11 + 4 + 20 = 35
            {"first_name": "François"},  # ç is not GSM-7: UCS-2, 11 + 8 + 20 = 39
            {"first_name": ""},  # "ami": 34
            {"first_name": long_name},  # GSM-7, 2 segments
            {"first_name": "Jean"},
        ),
        link_length=20,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert result.recipients == 5
    assert [group.as_dict() for group in result.distribution] == [
        {"encoding": "GSM-7", "segments": 1, "recipients": 3},
        {"encoding": "GSM-7", "segments": 2, "recipients": 1},
        {"encoding": "UCS-2", "segments": 1, "recipients": 1},
    ]
    assert result.format == "variable"
    assert (result.min_length, result.max_length) == (34, 181)
    assert (result.min_units, result.max_units) == (34, 181)
    assert result.total_segments == 6
    assert result.estimated_cost == Decimal("0.30")
    assert (result.errors, result.error_samples) == (0, ())


def test_single_format_when_every_message_shares_it() -> None:
    result = analyze_audience(
        GREETING,
        audience({"first_name": "Jean"}, {"first_name": "Zoé"}),
        link_length=20,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert result.format == "GSM-7"


def test_link_is_counted_at_its_length() -> None:
    def lengths(link_length: int) -> tuple[int | None, int | None]:
        result = analyze_audience(
            GREETING,
            audience({"first_name": "Jean"}),
            link_length=link_length,
            opt_out=None,
            price_per_segment=PRICE,
        )
        return result.min_length, result.max_length

    assert lengths(10) == (GREETING_FIXED + 4 + 10,) * 2
    assert lengths(31) == (GREETING_FIXED + 4 + 31,) * 2


def test_opt_out_is_counted_in_each_contacts_language() -> None:
    texts = OptOutTexts(en="STOP", fr="Désinscription : ARRÊT")  # Ê forces UCS-2
    result = analyze_audience(
        GREETING,
        audience(
            {"first_name": "Jean", "language": "fr"},
            {"first_name": "John", "language": "en"},
            {"first_name": "Jack"},  # no language: English
        ),
        link_length=20,
        opt_out=texts,
        price_per_segment=PRICE,
    )

    assert [group.as_dict() for group in result.distribution] == [
        {"encoding": "GSM-7", "segments": 1, "recipients": 2},
        {"encoding": "UCS-2", "segments": 1, "recipients": 1},
    ]
    assert result.min_length == GREETING_FIXED + 4 + 20 + 1 + len("STOP")
    assert result.max_length == GREETING_FIXED + 4 + 20 + 1 + len("Désinscription : ARRÊT")


def test_render_failures_are_counted_with_samples() -> None:
    template = compile_template(
        "Vous avez {{ contact.points + 10 }} points", custom_fields=("points",)
    )
    result = analyze_audience(
        template,
        audience({"points": 5}, {"points": "cinq"}, {"points": 7}, {"points": "cinq"}, {}),
        link_length=0,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert result.recipients == 5
    assert result.errors == 3  # "cinq" twice, and a missing field ("" + 10)
    assert [sample.index for sample in result.error_samples] == [1, 4]
    assert sum(group.recipients for group in result.distribution) == 2
    assert result.total_segments == 2
    assert result.as_dict()["error_samples"] == [
        sample.as_dict() for sample in result.error_samples
    ]


def test_numbers_that_compare_equal_are_rendered_each_as_itself() -> None:
    template = compile_template("{{ contact.points }}", custom_fields=("points",))
    result = analyze_audience(
        template,
        audience({"points": 1}, {"points": 1.0}, {"points": True}, {"points": [1, 2]}),
        link_length=0,
        opt_out=None,
        price_per_segment=PRICE,
    )

    # "1", "1.0", "True", "[1, 2]"
    assert (result.min_length, result.max_length) == (1, 6)


def test_empty_audience() -> None:
    result = analyze_audience(
        GREETING, audience(), link_length=20, opt_out=TEXTS, price_per_segment=PRICE
    )

    assert result.recipients == 0
    assert result.distribution == ()
    assert result.format is None
    assert result.min_length is None
    assert result.estimated_cost == Decimal("0")
    assert result.as_dict()["estimated_cost"] == "0.00"


def test_negative_link_length_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        analyze_audience(
            GREETING, audience(), link_length=-1, opt_out=None, price_per_segment=PRICE
        )


# --- The cache gives the per-contact result --------------------------------------------


def naive_analysis(
    template: MessageTemplate,
    contacts: list[dict[str, object]],
    *,
    link_length: int,
    opt_out: OptOutTexts | None,
) -> dict[str, object]:
    """Render and analyse every contact, one by one."""
    link = "x" * link_length
    groups: Counter[tuple[str, int]] = Counter()
    characters: list[int] = []
    units: list[int] = []
    errors = 0
    for contact in contacts:
        try:
            body = template.render(contact, link)
        except TemplateError:
            errors += 1
            continue
        if opt_out is not None:
            body = with_opt_out(body, language=contact.get("language"), texts=opt_out)
        result = analyze(body)
        groups[result.encoding, result.segments] += 1
        characters.append(result.characters)
        units.append(result.units)
    return {
        "recipients": len(contacts),
        "distribution": [
            {"encoding": encoding, "segments": segments, "recipients": count}
            for (encoding, segments), count in sorted(groups.items())
        ],
        "min_length": min(characters, default=None),
        "max_length": max(characters, default=None),
        "min_units": min(units, default=None),
        "max_units": max(units, default=None),
        "total_segments": sum(segments * count for (_, segments), count in groups.items()),
        "errors": errors,
    }


AUDIENCE_TEMPLATES = (
    'Bonjour {{ contact.first_name | default("ami") }}, -20% à {{ contact.city }} : {{ link }}',
    "{% if contact.city %}{{ contact.city | upper }} {% endif %}{{ contact.first_name * 3 }}",
    "{{ contact.city }}{{ contact.first_name }}{{ contact.city }}{{ contact.first_name }}",
)
# Few distinct values, so that recipients share them; they mix GSM-7 basic, extension
# characters (€, ^), non-GSM (ç, ê, emoji outside the BMP), blanks and non-text values.
VALUES = st.one_of(
    st.sampled_from(["", "Jean", "François", "Hélène", "€uro", "^^", "😀", "x" * 70]),
    st.none(),
    st.integers(min_value=0, max_value=3),
    st.text(alphabet="aç€😀 ", max_size=60),
)
CONTACTS = st.lists(
    st.dictionaries(
        st.sampled_from(["first_name", "city", "language", "other"]),
        st.one_of(VALUES, st.sampled_from(["fr", "en", "FR-fr"])),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, database=None)
@given(
    index=st.integers(min_value=0, max_value=len(AUDIENCE_TEMPLATES) - 1),
    contacts=CONTACTS,
    link_length=st.integers(min_value=0, max_value=40),
    with_opt_out_texts=st.booleans(),
    cache_limit=st.sampled_from([1, 3, 1000]),
)
def test_cache_gives_the_naive_result(
    index: int,
    contacts: list[dict[str, object]],
    link_length: int,
    with_opt_out_texts: bool,
    cache_limit: int,
) -> None:
    template = compile_template(AUDIENCE_TEMPLATES[index], custom_fields=("city",))
    opt_out = TEXTS if with_opt_out_texts else None
    result = analyze_audience(
        template,
        iter(contacts),
        link_length=link_length,
        opt_out=opt_out,
        price_per_segment=PRICE,
        cache_limit=cache_limit,  # small limits exercise the clearing
    )

    expected = naive_analysis(template, contacts, link_length=link_length, opt_out=opt_out)
    actual = result.as_dict()
    assert {key: actual[key] for key in expected} == expected
    assert result.estimated_cost == result.total_segments * PRICE


def test_cache_gives_the_naive_result_on_a_large_random_audience() -> None:
    rng = random.Random(20240607)
    names = ["Jean", "Zoé", "François", "Gaëlle", "Marie-Bernadette-Joséphine", "", None]
    cities = ["Paris", "Besançon", "Nîmes", "Lyon", "x" * 120]
    contacts: list[dict[str, object]] = [
        {
            "first_name": rng.choice(names),
            "city": rng.choice(cities),
            "language": rng.choice(["fr", "en", None]),
        }
        for _ in range(5000)
    ]
    template = compile_template(AUDIENCE_TEMPLATES[0], custom_fields=("city",))

    result = analyze_audience(
        template, iter(contacts), link_length=22, opt_out=TEXTS, price_per_segment=PRICE
    )

    expected = naive_analysis(template, contacts, link_length=22, opt_out=TEXTS)
    actual = result.as_dict()
    assert {key: actual[key] for key in expected} == expected
    assert result.format == "variable"


# --- Without an audience ---------------------------------------------------------------


def test_estimate_range_with_a_default_for_blank_names() -> None:
    estimate = estimate_template(
        GREETING,
        field_lengths={"first_name": (0, 12)},
        link_length=20,
        opt_out=None,
        price_per_segment=PRICE,
    )

    # A 1-letter name is shorter than the "ami" that replaces an empty one.
    assert (estimate.min_length, estimate.max_length) == (
        GREETING_FIXED + 1 + 20,
        GREETING_FIXED + 12 + 20,
    )
    assert (estimate.min_segments, estimate.max_segments) == (1, 1)
    assert (estimate.min_cost, estimate.max_cost) == (PRICE, PRICE)
    assert estimate.encoding == "GSM-7"
    assert estimate.assumes_gsm_fields


def test_estimate_uses_default_lengths_and_counts_the_opt_out() -> None:
    template = compile_template(
        "{{ contact.first_name }} {{ contact.city }}.", custom_fields=("city",)
    )

    estimate = estimate_template(
        template,
        field_lengths={},
        link_length=20,
        opt_out=TEXTS,
        price_per_segment=PRICE,
        language="fr",
    )

    mention = 1 + len("STOP au 36111")
    first_name = sender.compose.analysis.DEFAULT_FIELD_LENGTHS["first_name"]
    city = sender.compose.analysis.DEFAULT_OTHER_FIELD_LENGTH
    assert estimate.min_length == first_name[0] + 1 + city[0] + 1 + mention
    assert estimate.max_length == first_name[1] + 1 + city[1] + 1 + mention


def test_estimate_spanning_segments() -> None:
    estimate = estimate_template(
        GREETING,
        field_lengths={"first_name": (2, 200)},
        link_length=20,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert (estimate.min_segments, estimate.max_segments) == (1, 2)  # 231 septets: 2 × 153
    assert (estimate.min_cost, estimate.max_cost) == (PRICE, 2 * PRICE)
    assert estimate.as_dict()["max_cost"] == "0.10"


def test_estimate_is_ucs2_when_the_literal_text_is() -> None:
    template = compile_template("Привет {{ contact.first_name }} {{ link }}")

    estimate = estimate_template(
        template,
        field_lengths={"first_name": (3, 64)},
        link_length=20,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert estimate.encoding == "UCS-2"
    assert not estimate.assumes_gsm_fields
    assert (estimate.min_length, estimate.max_length) == (7 + 3 + 1 + 20, 7 + 64 + 1 + 20)
    assert (estimate.min_segments, estimate.max_segments) == (1, 2)


def test_estimate_is_ucs2_when_the_opt_out_is() -> None:
    texts = OptOutTexts(en="STOP", fr="Désinscription : ARRÊT")

    def encoding(language: str) -> str:
        return estimate_template(
            GREETING,
            field_lengths={},
            link_length=20,
            opt_out=texts,
            price_per_segment=PRICE,
            language=language,
        ).encoding

    assert (encoding("fr"), encoding("en")) == ("UCS-2", "GSM-7")


def test_estimate_of_a_template_without_fields_is_exact() -> None:
    estimate = estimate_template(
        compile_template("Soldes ! {{ link }}"),
        field_lengths={},
        link_length=22,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert (estimate.min_length, estimate.max_length) == (31, 31)
    assert not estimate.assumes_gsm_fields


def test_estimate_rejects_an_inverted_range() -> None:
    with pytest.raises(InvalidInput):
        estimate_template(
            GREETING,
            field_lengths={"first_name": (12, 2)},
            link_length=20,
            opt_out=None,
            price_per_segment=PRICE,
        )


def test_estimate_with_many_fields_optimises_each_field() -> None:
    names = [f"f{number}" for number in range(8)]  # 3**8 combinations: field by field
    template = compile_template(
        " ".join(f"{{{{ contact.{name} | default('ab') }}}}" for name in names),
        custom_fields=names,
    )

    estimate = estimate_template(
        template,
        field_lengths={name: (0, 5) for name in names},
        link_length=0,
        opt_out=None,
        price_per_segment=PRICE,
    )

    assert (estimate.min_length, estimate.max_length) == (8 + 7, 8 * 5 + 7)


def test_the_time_spent_rendering_an_audience_is_bounded() -> None:
    template = compile_template("{% if contact.first_name %}{{ contact.first_name }}{% endif %}")
    contacts = ({"first_name": f"p{n}"} for n in range(1_000))

    with pytest.raises(TemplateError) as raised:
        analyze_audience(
            template,
            contacts,
            link_length=0,
            opt_out=None,
            price_per_segment=PRICE,
            max_render_seconds=0.0,
        )

    assert raised.value.over_budget
    assert "Simplify the template" in raised.value.message
