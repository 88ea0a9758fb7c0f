"""The budget of one template render: time, output size, and work.

The checks run in the rendering thread itself, called by the code Jinja generates for a
`richsms.merge.fields.MergeEnvironment` and by its sandbox hooks: each loop step and each
output checks the deadline, every value built is charged, and the operations that can
build a huge value in one step (`center`, `ljust`, `format` widths, `zfill`,
`expandtabs`, `replace`, `join`, `wordwrap`, `indent`…) are refused *before* the value is
built. Nothing keeps running after a refusal: there is no watchdog thread.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import wraps
from typing import Any, Final

from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter

# Work (characters built) a render may do, as a multiple of its output budget.
_WORK_FACTOR: Final = 50
_MIN_WORK: Final = 1_000_000
# What constant folding at compile time may build: no budget is active then.
_COMPILE_VALUE_LIMIT: Final = 100_000


@dataclass(frozen=True, slots=True)
class RenderBudget:
    """What one render may cost: `max_chars` of output, `max_seconds` of time."""

    max_chars: int
    max_seconds: float


class BudgetExceeded(SecurityError):
    """A render went past its budget (raised inside Jinja, reported as a TemplateError)."""


class _Meter:
    """The budget of the render in progress, in the thread that renders."""

    __slots__ = ("deadline", "limit", "work")

    def __init__(self, budget: RenderBudget | None) -> None:
        if budget is None:  # compile time: constant folding only, no loops run
            self.limit = _COMPILE_VALUE_LIMIT
            self.deadline = float("inf")
            self.work = 10**18
        else:
            self.limit = budget.max_chars
            self.deadline = time.monotonic() + budget.max_seconds
            self.work = max(_MIN_WORK, budget.max_chars * _WORK_FACTOR)

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded("the template took too long to render")

    def charge(self, size: int) -> None:
        self.work -= size
        if self.work < 0:
            raise BudgetExceeded("the template does too much work")
        if time.monotonic() > self.deadline:
            raise BudgetExceeded("the template took too long to render")

    def allow(self, size: int) -> None:
        """Refuse a value of `size` characters or items before it is built."""
        if size > self.limit:
            raise BudgetExceeded(f"a value of {size} characters would be too long")


_ACTIVE: ContextVar[_Meter | None] = ContextVar("richsms_render_meter", default=None)
_COMPILE_METER: Final = _Meter(None)


def current() -> _Meter:
    """The budget of the render in progress in this thread (compile time: a loose one)."""
    return _ACTIVE.get() or _COMPILE_METER


def size_of(value: object) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


def check_ints(args: Iterable[object], limit: int) -> None:
    # Widths, counts and sizes given to filters and methods (center(20000000), batch(10**9)).
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            raise BudgetExceeded(f"{value} is too large a width or count")


# Widths and precisions in printf-style (`%20s`) and str.format (`{:>20}`) patterns.
_FORMAT_WIDTHS = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(\d*|\*)(?:\.(\d*|\*))?|\{[^{}]*:[^{}\d]*(\d*)(?:\.(\d+))?"
)

_NESTED_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\{")


def check_format(pattern: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Predict the size of `pattern % args` / `pattern.format(...)` before building it."""
    meter = current()
    values = list(args) + list(kwargs.values())
    if len(values) == 1 and isinstance(values[0], Mapping | tuple | list):
        values = list(values[0].values() if isinstance(values[0], Mapping) else values[0])
    if _NESTED_WIDTH.search(pattern):  # `{:{}}`: a width given as one of the values
        check_ints(values, meter.limit)
    for match in _FORMAT_WIDTHS.finditer(pattern):
        for number in match.groups():
            if number == "*":  # `%*s`: the same
                check_ints(values, meter.limit)
            elif number and (len(number) > 9 or int(number) > meter.limit):
                raise BudgetExceeded(f"{number} is too large a width in a format")
    longest = max((len(str(value)) for value in values), default=0)
    slots = pattern.count("%") + pattern.count("{")
    meter.allow(len(pattern) + slots * longest)


# --- Predicting the size of the filters and methods that grow a value --------------------


def _predict_replace(
    value: object, old: object = "", new: object = "", count: object = None
) -> None:
    text, old_text, new_text = str(value), str(old), str(new)
    hits = len(text) + 1 if not old_text else text.count(old_text)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    current().allow(len(text) + hits * max(0, len(new_text) - len(old_text)))


def _predict_indent(value: object, width: object = 4, *args: object, **kwargs: object) -> None:
    text = str(value)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
    current().allow(len(text) + (text.count("\n") + 1) * max(0, pad))


def _predict_wordwrap(value: object, width: object = 79, *args: object, **kwargs: object) -> None:
    text = str(value)
    wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else "\n")
    step = width if isinstance(width, int) and width > 0 else 1
    lines = len(text) // step + text.count("\n") + 1
    current().allow(len(text) + lines * len(str(wrap or "\n")))


def _predict_expandtabs(text: str, tabsize: object = 8) -> None:
    size = tabsize if isinstance(tabsize, int) else 8
    current().allow(len(text) + text.count("\t") * max(0, size))


def _bounded_items(values: Iterable[Any], separator: str, key: Callable[[Any], Any]) -> list[Any]:
    """The items of a join, materialised only while their total stays within the budget."""
    meter = current()
    items: list[Any] = []
    total = 0
    for item in values:
        value = key(item)
        total += len(str(value)) + len(separator)
        meter.allow(total)
        meter.tick()
        items.append(value)
    return items


# Filters whose integer arguments are widths or counts of what they build.
_WIDTH_FILTERS: Final = frozenset(
    {"center", "indent", "wordwrap", "batch", "slice", "tojson", "truncate", "pprint"}
)


def guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (a Jinja filter) refusing, before it runs, to build a value past the budget."""
    pass_arg = getattr(function, "jinja_pass_arg", None)
    leading = 1 if pass_arg is not None else 0

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        meter = current()
        meter.tick()
        own = args[leading:]
        if name in _WIDTH_FILTERS:
            check_ints(own[1:], meter.limit)
            check_ints(kwargs.values(), meter.limit)
        if own:
            value = own[0]
            if name == "replace":
                _predict_replace(*own, **kwargs)
            elif name == "indent":
                _predict_indent(*own, **kwargs)
            elif name == "wordwrap":
                _predict_wordwrap(*own, **kwargs)
            elif name == "format":
                check_format(str(value), own[1:], kwargs)
            elif name == "join":
                separator = str(own[1] if len(own) > 1 else kwargs.get("d", ""))
                attribute = own[2] if len(own) > 2 else kwargs.get("attribute")
                environment = args[0].environment if pass_arg is not None else None
                key: Callable[[Any], Any] = (
                    make_attrgetter(environment, attribute)
                    if attribute is not None and environment is not None
                    else (lambda item: item)
                )
                items = _bounded_items(value, separator, key)
                args = (*args[:leading], items, separator)
                kwargs = {}
            elif name == "sum":
                start = own[2] if len(own) > 2 else kwargs.get("start", 0)
                if not isinstance(start, int | float):
                    raise BudgetExceeded("sum only adds numbers in a message")
        result = function(*args, **kwargs)
        size = size_of(result)
        meter.allow(size)
        meter.charge(size)
        return result

    return guarded


# String methods that never make a value longer than the string they are called on.
_SHRINKING_METHODS: Final = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle",
        "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind",
        "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith",
        "strip", "swapcase", "title", "upper", "get", "items", "keys", "values", "copy",
    }
)  # fmt: skip
_WIDTH_METHODS: Final = frozenset({"center", "ljust", "rjust", "zfill"})


def check_method(method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    # The sandbox hands out str.format wrapped in its own safe formatter.
    owner = getattr(getattr(method, "__wrapped__", method), "__self__", None)
    name = getattr(method, "__name__", "")
    if not isinstance(owner, str | bytes | list | tuple | dict) or name in _SHRINKING_METHODS:
        return
    meter = current()
    if name in _WIDTH_METHODS or name == "expandtabs":
        check_ints(args, meter.limit)
        check_ints(kwargs.values(), meter.limit)
    if name in _WIDTH_METHODS:
        return
    if name == "replace" and isinstance(owner, str):
        _predict_replace(owner, *args, **kwargs)
    elif name == "expandtabs" and isinstance(owner, str):
        _predict_expandtabs(owner, *args, **kwargs)
    elif name in ("format", "format_map") and isinstance(owner, str):
        check_format(owner, args, kwargs)
    elif name == "join" and isinstance(owner, str) and args:
        _bounded_items(args[0], owner, str)
    elif name in ("translate", "maketrans", "expandtabs", "replace", "join"):
        raise BudgetExceeded(f"'{name}' is not available in a message")



def activate(budget: RenderBudget) -> Token[_Meter | None]:
    """Renders in this thread run under `budget` until `deactivate(token)`."""
    return _ACTIVE.set(_Meter(budget))


def deactivate(token: Token[_Meter | None]) -> None:
    _ACTIVE.reset(token)
