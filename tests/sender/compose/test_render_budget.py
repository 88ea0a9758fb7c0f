"""Every render has a budget: a template cannot stall a worker or build a huge message."""

from __future__ import annotations

import pytest

from richsms.merge.fields import (
    STANDARD_FIELDS,
    ContactFields,
    MergeEnvironment,
    RenderBudget,
    TemplateError,
    check_template,
    render_budgeted,
)
from sender.compose import templates
from sender.compose.templates import compile_template

NESTED_LOOPS = "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}"


def refused(source: str) -> TemplateError:
    template = compile_template(source)
    with pytest.raises(TemplateError) as raised:
        template.render({})
    return raised.value


@pytest.mark.parametrize(
    "source",
    [
        NESTED_LOOPS,
        "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}y{% endfor %}{% endfor %}",
        # Loops whose test filters everything out still step through the budget.
        "{% for a in 'x'*10000 %}{% for b in 'x'*9000 if b == 'z' %}{% endfor %}{% endfor %}",
        # Recursion without any loop, and recursive loops.
        "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}{{ m(40) }}",
        "{% for x in 'ab' recursive %}{% if loop.depth < 3 %}{{ loop('x'*9000) }}{% endif %}"
        "{% endfor %}",
        # Output collected in a block, never printed.
        "{% set x %}{% for a in 'x'*10000 %}{% for b in 'x'*100 %}{{ 'y'*5000 }}{% endfor %}"
        "{% endfor %}{% endset %}{{ x|length }}",
    ],
)
def test_runaway_templates_stop_within_the_budget(source: str) -> None:
    error = refused(source)

    assert error.code == "template_error"
    assert "could not be rendered" in error.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a'|center(20000000) }}",
        "{{ 'a'.center(20000000) }}",
        "{{ 'a'.ljust(20000000) }}",
        "{{ 'a'.rjust(20000000) }}",
        "{{ '1'.zfill(20000000) }}",
        "{{ '%20000000s'|format('a') }}",
        "{{ '%20000000s' % 'a' }}",
        "{{ '%*s' % (20000000, 'a') }}",
        "{{ '{:>20000000}'.format('a') }}",
        "{{ '{:>{}}'.format('a', 20000000) }}",
        "{{ ('\t'*5000).expandtabs(5000) }}",
        "{{ ('x'*5000)|replace('x', 'y'*5000) }}",
        "{{ ('x'*5000).replace('x', 'y'*5000) }}",
        "{{ ('x'*5000)|replace('x','yy')|replace('y','yy')|replace('y','yy') }}",
        "{{ ('y'*5000)|join('x'*5000) }}",
        "{{ ('x'*5000).join('y'*5000) }}",
        "{{ ('x '*5000)|wordwrap(1, wrapstring='z'*5000) }}",
        "{{ ('x\n'*5000)|indent(5000) }}",
        "{{ [1]*100000000 }}",
        "{{ 'x'*100000000 }}",
        "{% set s = 'x'*5000 %}{{ s ~ s ~ s }}",
        "{% set s = 'x'*5000 %}{{ s + s + s }}",
        "{% macro m(s, n) %}{% if n %}{{ m(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        "{{ m('x', 60) }}",
        "{{ ('x'*10000)|map('center', 9000)|list|length }}",
        "{{ [1]|batch(1000000000, 'x')|list }}",
        "{{ [1]|slice(1000000000)|list }}",
        "{{ 2**100000 }}",
        "{{ (2**64)**64 }}",
        "{{ ('%s'*5000)|format(*(['x'*5000]*5000)) }}",
        "{{ '%(a)s%(a)s%(a)s' % {'a': 'x'*9000} }}",
        "{{ {'a': 1}|tojson(indent=100000000) }}",
        "{{ [[1]]|sum(start=[]) }}",
        "{{ 'ab'.translate({97: 'x'*9000}) }}",
    ],
)
def test_huge_values_are_refused_before_they_are_built(source: str) -> None:
    assert "could not be rendered" in refused(source).message


def test_values_cannot_be_mutated() -> None:
    error = refused("{% set l = [1] %}{{ l.append(2) }}")

    assert "could not be rendered" in error.message


def test_ordinary_templates_render_as_before() -> None:
    template = compile_template(
        "{{ 'Bonjour %s'|format(contact.first_name) }} {{ '{}'.format(1234567) }} "
        "{{ '%d'|format(1234567890) }} {{ contact.first_name|center(11) }} "
        "{% for w in 'a-b'.split('-') %}{{ loop.index }}{{ w|upper }}{% endfor %}"
        "{{ ['x', 'y']|join(', ') }}"
    )

    assert template.render({"first_name": "Zoé"}) == (
        "Bonjour Zoé 1234567 1234567890     Zoé     1A2Bx, y"
    )


def test_the_output_size_is_bounded_even_on_the_fast_path() -> None:
    template = compile_template("{{ contact.first_name }}")
    assert template.is_fast

    with pytest.raises(TemplateError):
        template.render({"first_name": "x" * (templates.SMS_BUDGET.max_chars + 1)})


def test_a_tighter_budget_is_honoured() -> None:
    template = compile_template("{% for a in 'x'*100 %}{{ a }}{% endfor %}")

    assert len(template.render({})) == 100
    with pytest.raises(TemplateError):
        template.render({}, budget=RenderBudget(max_chars=50, max_seconds=1.0))


def test_an_autoescaped_environment_shares_the_contract() -> None:
    # The landing pages build their HTML environment on the same names.
    env = MergeEnvironment(autoescape=True)
    checked = check_template(
        env,
        "<p>{{ contact.first_name }} <a href='{{ link }}'>x</a></p>"
        "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}",
        custom_fields=(),
    )
    assert checked.fields == ("first_name",)
    assert checked.uses_link
    with pytest.raises(TemplateError):
        render_budgeted(checked, {"first_name": "<b>"}, budget=RenderBudget(10_000, 0.2))

    page = check_template(env, "<p>{{ contact.first_name }} {{ link }}</p>", custom_fields=())
    html = render_budgeted(
        page, {"first_name": "<b>&"}, link="https://s.io/a?b&c", budget=RenderBudget(10_000, 1.0)
    )
    # The marketer's literal text is text in HTML too: every tag shows, none runs.
    assert html == "&lt;p&gt;&lt;b&gt;&amp; https://s.io/a?b&amp;c&lt;/p&gt;"
    assert STANDARD_FIELDS[0] == "first_name"
    assert ContactFields({"a": None}).a == ""


def test_unknown_names_are_reported_with_the_names_available() -> None:
    env = MergeEnvironment(autoescape=True)
    with pytest.raises(TemplateError) as raised:
        check_template(env, "{{ page }}", custom_fields=())
    assert "'page'" in raised.value.message
    checked = check_template(env, "{{ page }}", custom_fields=(), names=("contact", "link", "page"))
    assert render_budgeted(
        checked, {}, budget=RenderBudget(100, 1.0), variables={"page": "P"}
    ) == "P"
