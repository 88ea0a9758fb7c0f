from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from richsms.errors import InvalidInput
from sender.compose.templates import STANDARD_FIELDS, TemplateError, compile_template


def error_for(source: str, *, custom_fields: tuple[str, ...] = ()) -> TemplateError:
    with pytest.raises(TemplateError) as raised:
        compile_template(source, custom_fields=custom_fields)
    return raised.value


# --- Save-time errors ------------------------------------------------------------------


def test_unknown_field_names_the_field_and_its_position() -> None:
    error = error_for("Bonjour\n{{ contact.prenom }}, à bientôt")

    assert isinstance(error, InvalidInput)
    assert (error.field, error.line, error.column) == ("prenom", 2, 12)
    assert "'prenom'" in error.message
    assert "line 2, column 12" in error.message


def test_unknown_field_in_subscript_form_points_at_the_name() -> None:
    error = error_for('Hi {{ contact["ville"] }}')

    assert (error.field, error.line, error.column) == ("ville", 1, 16)


def test_first_mistake_in_the_source_is_reported() -> None:
    error = error_for("{{ contact.first_name }} {{ contact.b }}\n{{ contact.a }}")

    assert (error.field, error.line, error.column) == ("b", 1, 37)


def test_unknown_top_level_variable() -> None:
    error = error_for("Hello\n  {{ firstname }}")

    assert (error.field, error.line, error.column) == (None, 2, 6)
    assert "'firstname'" in error.message


def test_jinja_globals_are_not_available() -> None:
    error = error_for("{% for i in range(3) %}x{% endfor %}")

    assert "'range'" in error.message


def test_bare_contact_is_rejected() -> None:
    error = error_for("Hi {{ contact.first_name }} {{ contact }}")

    assert (error.line, error.column) == (1, 32)
    assert "contact" in error.message


def test_contact_field_must_be_named_literally() -> None:
    assert error_for("{% set f = 'city' %}{{ contact[f] }}").line == 1


def test_contact_and_link_cannot_be_redefined() -> None:
    assert "'contact'" in error_for("{% set contact = 1 %}{{ link }}").message


def test_unknown_filter_is_reported_at_save_time() -> None:
    error = error_for("Hi {{ contact.first_name | capitalise }}")

    assert (error.line, error.column) == (1, 28)
    assert "'capitalise'" in error.message


def test_unknown_filter_inside_a_condition_is_reported_at_save_time() -> None:
    error = error_for("{% if contact.first_name %}{{ contact.first_name | shout }}{% endif %}")

    assert "'shout'" in error.message


def test_include_is_rejected() -> None:
    assert "include" in error_for("{% include 'other.txt' %}").message


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("Hi {{ contact.first_name }", 1, 26),
        ("Bonjour\n{{ contact.first_name | }}", 2, 25),
        ("Hi\nx {{ contact.city $ }}", 2, 19),
        ("Hi {{ contact.first_name", 1, 25),
    ],
)
def test_syntax_error_position(source: str, line: int, column: int) -> None:
    error = error_for(source, custom_fields=("city",))

    assert (error.field, error.line, error.column) == (None, line, column)
    assert f"line {line}, column {column}" in error.message


# --- Fields and rendering --------------------------------------------------------------


def test_custom_fields_are_accepted_when_declared() -> None:
    source = "{{ contact.city }} {{ contact['loyalty_tier'] }}"
    assert error_for(source).field == "city"

    template = compile_template(source, custom_fields=("city", "loyalty_tier"))

    assert template.render({"city": "Lyon", "loyalty_tier": "gold"}) == "Lyon gold"


def test_fields_in_order_of_first_use_and_link_detection() -> None:
    template = compile_template(
        "{{ contact.last_name }} {{ contact.first_name }} {{ contact.last_name }} {{ link }}"
    )

    assert template.fields == ("last_name", "first_name")
    assert template.uses_link
    assert not compile_template("Hi").uses_link
    assert compile_template("Hi").fields == ()


def test_custom_field_named_like_a_dict_method_renders_its_value() -> None:
    template = compile_template(
        "{{ contact.items }} / {{ contact.keys }} / {{ contact['get'] }}",
        custom_fields=("items", "keys", "get"),
    )
    contact = {"items": "3 articles", "keys": "clé", "get": "offert"}

    assert template.render(contact) == "3 articles / clé / offert"


def test_custom_field_named_like_a_dict_method_renders_through_jinja_too() -> None:
    template = compile_template(
        "{% if contact.items %}{{ contact.items }}{% endif %}", custom_fields=("items",)
    )

    assert not template.is_fast
    assert template.render({"items": "3 articles"}) == "3 articles"


@pytest.mark.parametrize("blank", ["", None])
def test_default_applies_to_blank_values(blank: str | None) -> None:
    template = compile_template('Bonjour {{ contact.first_name | default("ami") }} !')

    assert template.render({"first_name": blank}) == "Bonjour ami !"
    assert template.render({}) == "Bonjour ami !"
    assert template.render({"first_name": "Zoé"}) == "Bonjour Zoé !"


def test_default_applies_to_blank_values_through_jinja() -> None:
    template = compile_template(
        '{% if true %}Bonjour {{ contact.first_name | d("ami") | upper }}{% endif %}'
    )

    assert template.render({"first_name": ""}) == "Bonjour AMI"


def test_missing_and_null_fields_render_empty() -> None:
    template = compile_template("[{{ contact.first_name }}][{{ contact.email | upper }}]")

    assert template.render({"first_name": None}) == "[][]"


def test_text_is_not_html_escaped_and_trailing_newline_is_kept() -> None:
    template = compile_template("Tom & Jerry <3 {{ contact.first_name }}\n")

    assert template.render({"first_name": "A&B"}) == "Tom & Jerry <3 A&B\n"


def test_link_is_rendered() -> None:
    template = compile_template("Voir {{ link }} ou {{ link }}")

    assert (
        template.render({}, link="https://s.io/Ab3") == "Voir https://s.io/Ab3 ou https://s.io/Ab3"
    )


def test_loop_variables_are_local_names() -> None:
    template = compile_template(
        "{% for word in contact.city.split('-') %}{{ loop.index }}{{ word }} {% endfor %}",
        custom_fields=("city",),
    )

    assert template.render({"city": "Aix-en-Provence"}) == "1Aix 2en 3Provence "


# --- Sandbox ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.__class__ }}",
        "{{ ''.__class__ }}",
        "{{ contact.first_name.__class__.__mro__ }}",
        "{{ ''['__class__'] }}",
        "{{ link.__len__() }}",
    ],
)
def test_sandbox_blocks_private_attributes(source: str) -> None:
    error_for(source)


def test_sandbox_violation_at_render_time_is_a_template_error() -> None:
    # The format string comes from the contact's data, out of reach of save-time checks.
    template = compile_template("{{ contact.first_name.format(7) }}")

    assert template.render({"first_name": "n°{0}"}) == "n°7"
    with pytest.raises(TemplateError) as raised:
        template.render({"first_name": "{0.__class__}"})

    assert raised.value.line == 1


def test_huge_repetition_is_refused_with_its_line() -> None:
    template = compile_template("Hi\n{{ 'a' * 1000000000 }}")

    with pytest.raises(TemplateError) as raised:
        template.render({})

    assert raised.value.line == 2


def test_runtime_type_error_is_a_template_error() -> None:
    template = compile_template("{{ contact.points + 1 }}", custom_fields=("points",))

    assert template.render({"points": 41}) == "42"
    with pytest.raises(TemplateError):
        template.render({"points": "beaucoup"})


# --- The fast renderer is Jinja, only faster -------------------------------------------

FAST_SOURCES = (
    'Bonjour {{ contact.first_name | default("ami") }}, -20% à {{ contact.city }} : {{ link }}',
    "{{ contact.first_name }}{{ contact.first_name | d('x') | default('y') }}{{ '{0}' }} {}",
    "{{ contact['city'] | default('') | default('ville') }}{{ 42 }}{{ link }}{{ link }}\n",
    "Sans champ {% raw %}{{ x }}{% endraw %}",
    "{{- contact.city -}}   \n {{ contact.first_name|default('  ') }}",
)
FIELD_VALUES = st.one_of(
    st.none(), st.just(""), st.text(max_size=8), st.integers(), st.floats(allow_nan=False)
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    index=st.integers(min_value=0, max_value=len(FAST_SOURCES) - 1),
    contact=st.dictionaries(st.sampled_from(["first_name", "city", "other"]), FIELD_VALUES),
    link=st.text(max_size=5),
)
def test_fast_renderer_matches_jinja(index: int, contact: dict[str, object], link: str) -> None:
    template = compile_template(FAST_SOURCES[index], custom_fields=("city",))

    assert template.is_fast
    assert template.render(contact, link) == template._render_with_jinja(contact, link)


def test_standard_fields() -> None:
    assert STANDARD_FIELDS == ("first_name", "last_name", "phone", "email", "language", "timezone")
