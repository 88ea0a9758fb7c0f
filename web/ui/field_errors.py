"""A form's problems as pydantic finds them, told in the viewer's language: one short
sentence per field, from the kind of problem and its limits. Pydantic's own messages are
English only, and would show as such in the French builder; these sentences are in the
catalogues (`richsms/locale`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from richsms.errors import fill
from richsms.i18n import N_

# By pydantic's error type; {names} are the problem's limits (its `ctx`).
MESSAGES: dict[str, str] = {
    "missing": N_("Required."),
    "string_too_short": N_("At least {min_length} characters."),
    "string_too_long": N_("At most {max_length} characters."),
    "int_parsing": N_("A whole number."),
    "int_from_float": N_("A whole number."),
    "int_type": N_("A whole number."),
    "float_parsing": N_("A number."),
    "float_type": N_("A number."),
    "greater_than_equal": N_("At least {ge}."),
    "greater_than": N_("More than {gt}."),
    "less_than_equal": N_("At most {le}."),
    "less_than": N_("Less than {lt}."),
    "too_short": N_("At least {min_length} items."),
    "too_long": N_("At most {max_length} items."),
    "literal_error": N_("One of {expected}."),
    "enum": N_("One of {expected}."),
    "datetime_parsing": N_("A date and time."),
    "datetime_from_date_parsing": N_("A date and time."),
    "datetime_type": N_("A date and time."),
    "bool_parsing": N_("Yes or no."),
}


def field_message(problem: ErrorDetails, t: Callable[[str], str]) -> str:
    """One problem as a sentence, translated by `t`."""
    kind = problem["type"]
    limits: Mapping[str, Any] = problem.get("ctx") or {}
    if kind == "value_error":  # our own checks: their message is the sentence
        return t(str(limits.get("error", problem["msg"])).removeprefix("Value error, "))
    if kind == "string_too_short" and limits.get("min_length") == 1:
        kind = "missing"
    template = MESSAGES.get(kind)
    if template is None:
        return str(problem["msg"])
    return fill(t(template), {name: _spelled(value) for name, value in limits.items()}, t)


def _spelled(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
