"""A form's problems as pydantic finds them, told in the viewer's language: one short
sentence per field, from the kind of problem and its limits. Pydantic's own messages are
English only, and would show as such in the French builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from richsms.errors import fill

# By pydantic's error type; {names} are the problem's limits (its `ctx`).
MESSAGES: dict[str, str] = {
    "missing": "Required.",
    "string_too_short": "At least {min_length} characters.",
    "string_too_long": "At most {max_length} characters.",
    "int_parsing": "A whole number.",
    "int_from_float": "A whole number.",
    "int_type": "A whole number.",
    "float_parsing": "A number.",
    "float_type": "A number.",
    "greater_than_equal": "At least {ge}.",
    "greater_than": "More than {gt}.",
    "less_than_equal": "At most {le}.",
    "less_than": "Less than {lt}.",
    "too_short": "At least {min_length} items.",
    "too_long": "At most {max_length} items.",
    "literal_error": "One of {expected}.",
    "enum": "One of {expected}.",
    "datetime_parsing": "A date and time.",
    "datetime_from_date_parsing": "A date and time.",
    "datetime_type": "A date and time.",
    "bool_parsing": "Yes or no.",
}

FR: dict[str, str] = {
    "Required.": "Obligatoire.",
    "At least {min_length} characters.": "Au moins {min_length} caractères.",
    "At most {max_length} characters.": "{max_length} caractères au plus.",
    "A whole number.": "Un nombre entier.",
    "A number.": "Un nombre.",
    "At least {ge}.": "Au moins {ge}.",
    "More than {gt}.": "Plus de {gt}.",
    "At most {le}.": "Au plus {le}.",
    "Less than {lt}.": "Moins de {lt}.",
    "At least {min_length} items.": "Au moins {min_length} éléments.",
    "At most {max_length} items.": "{max_length} éléments au plus.",
    "One of {expected}.": "Au choix : {expected}.",
    "A date and time.": "Une date et une heure.",
    "Yes or no.": "Oui ou non.",
    # The blocks' own checks (landing_templates/blocks, landing_templates/validation.py).
    "must be an https:// URL, a tel: number or an sms: number": (
        "une adresse https://, un numéro tel: ou un numéro sms:"
    ),
    "a colour is #rgb or #rrggbb": "une couleur s'écrit #rgb ou #rrggbb",
    "source generate needs a pattern, e.g. NOEL-######": (
        "des codes générés demandent un modèle, par exemple NOEL-######"
    ),
    "source pool needs a pool_id": "un stock de codes demande de choisir le stock",
    "prize coupon needs coupon settings {source, pattern | pool_id}": (
        "un lot « coupon » demande les réglages du coupon (codes générés ou stock)"
    ),
    "prize text needs a text": "un lot « texte » demande un texte",
    "a prize with coupon: true needs coupon settings on the wheel": (
        "un lot avec coupon demande les réglages du coupon de la roue"
    ),
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
