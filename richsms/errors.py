"""Errors the domain raises; each edge (web, CLI) decides how to show them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails


class RichsmsError(Exception):
    """Base of every expected error. `code` is a stable machine-readable name.

    `message` is English. Given `params`, the message is a template (`str.format`) of
    them: an edge that speaks another language translates the template, then fills it
    (`told`); the API says `message`."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.template = message
        self.params: dict[str, object] = dict(params or {})
        self.message = message.format_map(self.params) if params else message
        super().__init__(self.message)
        if code is not None:
            self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its state, whatever a subclass's __init__ takes: an error crosses
        # from a worker process (`richsms.processes`) whole.
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))

    def told(self, translate: Callable[[str], str]) -> str:
        """The message in the language `translate` gives (English sentences as keys);
        a parameter that is itself a known sentence is translated too."""
        if not self.params:
            return translate(self.message)
        return fill(translate(self.template), self.params, translate)


def _rebuilt(
    cls: type[RichsmsError], args: tuple[object, ...], state: dict[str, object]
) -> RichsmsError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def fill(
    template: str, params: Mapping[str, object], translate: Callable[[str], str]
) -> str:
    """`template` filled with `params` (a sentence among them translated if known); a
    name the template asks for and `params` lacks shows as an ellipsis, never an error."""
    return template.format_map(_Filled(params, translate))


class _Filled(dict[str, object]):
    def __init__(self, params: Mapping[str, object], translate: Callable[[str], str]) -> None:
        super().__init__({k: _told(v, translate) for k, v in params.items()})

    def __missing__(self, name: str) -> str:
        return "…"


def _told(value: object, translate: Callable[[str], str]) -> object:
    if isinstance(value, RichsmsError):  # an error wrapped in another: told the same way
        return value.told(translate)
    if isinstance(value, str) and " " in value:  # a sentence; a name or a value stays
        return translate(value)
    return value


# Problems a validation error lists (the first ones, then how many more): a body of
# 700,000 wrong keys is told in a few lines, never in megabytes.
MAX_PROBLEMS = 20


def problems(
    exc: ValidationError, limit: int | None = None
) -> list[tuple[str, ErrorDetails]]:
    """A pydantic validation error's problems (the first `limit` of them) with the field
    path each is about ("" for the value itself). A field that takes a value or settings
    (a wheel slice's `coupon`, true or its own coupon) names the field, not pydantic's
    union branches; a list too short only because one of its items failed is left to
    that item's problem."""
    found = []
    errors = exc.errors(include_url=False, include_input=False)[:limit]
    for problem in errors:
        loc = [str(p) for p in problem["loc"]]
        if "bool" in loc and len(errors) > 1:
            continue  # the `true | false` branch of settings given as an object
        loc = [p for p in loc if "[" not in p and p != "CouponSpec"]
        found.append((".".join(loc), problem))
    return [
        (where, problem)
        for where, problem in found
        if problem["type"] != "too_short"
        or not any(other.startswith(where + ".") for other, _ in found)
    ]


def described(exc: ValidationError, whole: str, *, within: str = "") -> str:
    """A pydantic validation error as one readable sentence per problem, `field.path:
    message`, for the first MAX_PROBLEMS of them, then how many more there are; `whole`
    names the value itself when the problem has no field, `within` prefixes the paths of
    a value that is itself a field (`ab_test.`)."""
    parts = []
    for where, problem in problems(exc, MAX_PROBLEMS):
        where = within + where if where else whole
        if len(where) > 80:
            where = where[:77] + "..."
        parts.append(f"{where}: {problem['msg'][:200]}")
    more = exc.error_count() - MAX_PROBLEMS
    return "; ".join(parts) + (f"; and {more} more problems" if more > 0 else "")


class InvalidInput(RichsmsError):
    code = "invalid_input"


class NotFound(RichsmsError):
    code = "not_found"


class Conflict(RichsmsError):
    code = "conflict"


class Gone(RichsmsError):
    code = "gone"


class Forbidden(RichsmsError):
    code = "forbidden"
