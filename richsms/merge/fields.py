"""The merge-field contract shared by SMS (plain text) and landing pages (autoescaped HTML).

A template may name `contact` (only as `contact.field` or `contact["field"]`, for a
standard or declared custom field) and `link`. Every mistake — unknown field, unknown
variable, unknown filter, syntax error — is reported at save time with its line and column
(`check_template`). Every render runs under a `RenderBudget` of time and output size
(`render_budgeted`): `MergeEnvironment` compiles the budget's checks into each template,
so that a loop which prints nothing still stops, and a huge value is refused before it is
built (see `richsms.merge.budget`).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment, modifies_known_mutable
from markupsafe import escape

from richsms.merge.budget import (
    BudgetExceeded,
    RenderBudget,
    activate,
    check_format,
    check_method,
    current,
    deactivate,
    guard_filter,
    size_of,
)
from richsms.merge.checks import (
    CONTACT,
    DEFAULT_NAMES,
    EVENT,
    LINK,
    REPLY,
    STANDARD_FIELDS,
    TemplateError,
    contact_field,
    inspect_template,
    syntax_error,
)

__all__ = [
    "CONTACT",
    "DEFAULT_NAMES",
    "EVENT",
    "REPLY",
    "LINK",
    "STANDARD_FIELDS",
    "BudgetExceeded",
    "CheckedTemplate",
    "ContactFields",
    "MergeEnvironment",
    "RenderBudget",
    "TemplateError",
    "check_template",
    "contact_field",
    "render_budgeted",
    "render_error",
    "too_long",
]

# Integers past this many bits are a mistake or an attack, never a merge field.
_MAX_INT_BITS: Final = 4096


def _default_filter(value: object, default_value: object = "", boolean: bool = False) -> object:
    # Jinja's own `default` only replaces undefined values; a contact's blank first name
    # is an empty string (or NULL), and marketers expect "ami" there too.
    if _is_blank(value) or (boolean and not value):
        return default_value
    return value


def _is_blank(value: object) -> bool:
    return value is None or isinstance(value, Undefined) or (isinstance(value, str) and not value)


# --- The environment ------------------------------------------------------------------


class _BudgetCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the budget checks of `MergeEnvironment` compiled in.

    Output is charged only where it can repeat (in loops, macros, call blocks, blocks):
    elsewhere it runs once per render, its values are bounded when built and the
    rendered text is measured at the end.
    """

    _repeating = 0

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        # In HTML (autoescape) the marketer's literal text is text too, never markup:
        # `<b>{{ contact.first_name }}</b>` shows its tags, like a text without fields.
        if self.environment.autoescape is True:
            for data in node.find_all(nodes.TemplateData):
                data.data = str(escape(data.data))
        super().visit_Template(node, frame)

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # Every loop steps through the budget, whether or not its body prints anything.
        if not getattr(node, "_budgeted", False):
            node.iter = nodes.Call(
                nodes.EnvironmentAttribute("budget_iter"), [node.iter], [], None, None
            )
            node._budgeted = True  # type: ignore[attr-defined]
        self._repeated(super().visit_For, node, frame)

    def visit_Macro(self, node: nodes.Macro, frame: Frame) -> None:
        self._repeated(super().visit_Macro, node, frame)

    def visit_CallBlock(self, node: nodes.CallBlock, frame: Frame) -> None:
        self._repeated(super().visit_CallBlock, node, frame)

    def visit_Block(self, node: nodes.Block, frame: Frame) -> None:
        self._repeated(super().visit_Block, node, frame)

    def _repeated(
        self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame
    ) -> None:
        """Visit `node`, whose body may run many times: the output it compiles is charged."""
        self._repeating += 1
        try:
            visit(node, frame)
        finally:
            self._repeating -= 1

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        # Literal text printed in a loop costs its length on every pass.
        text = super()._output_const_repr(group)
        return f"environment.budget_output({text})" if self._repeating else text

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._repeating:
            self.write("environment.budget_output(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        if self._repeating:
            self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.budget_value(")
        super().visit_Concat(node, frame)
        self.write(")")


class MergeEnvironment(SandboxedEnvironment):
    """The sandbox for merge-field templates, with a render budget.

    `autoescape=False` for SMS text ("&" stays "&"), `True` for HTML pages. Only the
    names a caller passes (by default `contact` and `link`) exist: Jinja's globals
    (`range`, `dict`, `namespace`…) are removed. Values cannot be mutated.
    """

    code_generator_class = _BudgetCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, autoescape: bool = False, **options: Any) -> None:
        options.setdefault("keep_trailing_newline", True)
        # A mistake the save-time checks missed fails loudly, never silently.
        options.setdefault("undefined", StrictUndefined)
        super().__init__(autoescape=autoescape, **options)
        self.filters["default"] = _default_filter
        self.filters["d"] = _default_filter
        self.filters = {name: guard_filter(name, f) for name, f in self.filters.items()}
        self.globals.clear()

    # What the generated code calls.
    def budget_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        meter = current()
        for item in iterable:
            meter.tick()
            yield item

    def budget_output(self, value: str) -> str:
        meter = current()
        meter.allow(len(value))
        meter.charge(len(value))
        return value

    def budget_value(self, value: Any) -> Any:
        size = size_of(value)
        meter = current()
        meter.allow(size)
        meter.charge(size)
        return value

    # The sandbox's hooks.
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        meter = current()
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(count, int):
                    meter.allow(len(sized) * max(count, 0))
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > _MAX_INT_BITS:
                    raise BudgetExceeded("the number would be too large")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and max(left.bit_length(), 1) * right > _MAX_INT_BITS:
                raise BudgetExceeded("the exponent is too large")
        elif operator == "+" and isinstance(left, str | list | tuple):
            if isinstance(right, str | list | tuple):
                meter.allow(len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            values = right if isinstance(right, tuple) else (right,)
            check_format(left, values, {})
        result = super().call_binop(context, operator, left, right)
        meter.charge(size_of(result))
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        meter = current()
        meter.tick()
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (__self.budget_iter(args[0]), *args[1:])
        else:
            check_method(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        size = size_of(result)
        meter.allow(size)
        meter.charge(size)
        return result

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # A template reads values; it never changes them (list.append in a loop would
        # grow without printing anything).
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not modifies_known_mutable(obj, attr)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Field lookups are most of a personalised template's work: skip the generic
        # sandbox checks for the wrapper, which only ever hands out field values.
        if type(obj) is ContactFields:
            return obj.__getattr__(attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) is ContactFields and isinstance(argument, str):
            return obj.__getattr__(argument)
        return super().getitem(obj, argument)


class ContactFields:
    """What a template sees as `contact`: the contact's fields and nothing else.

    Attribute lookup goes straight to the mapping, so a custom field called `items` or
    `keys` is the field, and no method of the mapping is reachable. A missing or NULL
    field reads as "" so that `default(...)` and filters see a string.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> object:
        found = self._values.get(name)
        return "" if found is None else found

    __getitem__ = __getattr__


@dataclass(frozen=True, slots=True)
class CheckedTemplate:
    """A template that passed the save-time checks, compiled once.

    `fields`: the contact fields it reads, in order of first use; `tree`: its Jinja AST
    (for renderers that bypass Jinja on simple templates); `event_fields`: the fields of
    `event` it reads (when `event` is one of its names).
    """

    source: str
    fields: tuple[str, ...]
    uses_link: bool
    jinja: Template
    tree: nodes.Template
    event_fields: tuple[str, ...] = ()
    reply_fields: tuple[str, ...] = ()  # `reply.campaign_<id>` it reads


def check_template(
    env: MergeEnvironment,
    source: str,
    *,
    custom_fields: Iterable[str],
    names: tuple[str, ...] = DEFAULT_NAMES,
) -> CheckedTemplate:
    """Check `source` and compile it in `env`; raise TemplateError for the first mistake."""
    allowed = frozenset(STANDARD_FIELDS).union(custom_fields)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as error:
        raise syntax_error(error, source) from None
    findings = inspect_template(env, tree, source, allowed, names)
    if findings.problems:
        first = min(findings.problems, key=lambda problem: (problem.line, problem.column))
        raise first.error()
    try:
        jinja = env.from_string(source)
    except TemplateSyntaxError as error:
        raise syntax_error(error, source) from None
    except SecurityError as error:  # a constant expression the sandbox refused to fold
        raise TemplateError(
            "The template is not allowed: {reason}", params={"reason": str(error)}
        ) from None
    fields = tuple(sorted(findings.fields, key=findings.fields.__getitem__))
    events = tuple(sorted(findings.event_fields, key=findings.event_fields.__getitem__))
    replies = tuple(sorted(findings.reply_fields, key=findings.reply_fields.__getitem__))
    return CheckedTemplate(source, fields, findings.uses_link, jinja, tree, events, replies)


# --- Rendering -------------------------------------------------------------------------


def render_budgeted(
    template: CheckedTemplate | Template,
    contact: Mapping[str, object],
    *,
    link: str = "",
    budget: RenderBudget,
    variables: Mapping[str, object] | None = None,
) -> str:
    """Render for one contact within `budget`; raise TemplateError past it or on failure.

    `variables` adds names the caller declared to `check_template` besides the defaults.
    """
    jinja = template.jinja if isinstance(template, CheckedTemplate) else template
    values: dict[str, object] = {CONTACT: ContactFields(contact), LINK: link}
    if variables:
        values.update(variables)
    token = activate(budget)
    try:
        # Template.render copies every global into each new context; a template may not
        # name any global, so a context holding only its names renders ~3x faster.
        context = jinja.new_context(values, shared=True)
        text = "".join(jinja.root_render_func(context))
    except TemplateError:
        raise
    except Exception as error:  # a filter, the sandbox or a value's __str__ refused
        raise render_error(error, jinja) from error
    finally:
        deactivate(token)
    if len(text) > budget.max_chars:
        raise too_long(len(text), budget)
    return text


def too_long(length: int, budget: RenderBudget) -> TemplateError:
    # Not `over_budget`: a rendered text too long comes from this recipient's values.
    return TemplateError(
        "The message could not be rendered: {length} characters, more than the {allowed} allowed",
        params={"length": length, "allowed": budget.max_chars},
    )


def render_error(error: Exception, jinja: Template) -> TemplateError:
    """A TemplateError naming the template line where `error` was raised, if known."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<template>" and frame.lineno is not None:
            line = jinja.get_corresponding_lineno(frame.lineno)
    reason = str(error) or type(error).__name__
    if isinstance(error, RecursionError):
        reason = "the template calls itself too deeply"
    result = TemplateError(
        "The message could not be rendered (line {line}): {reason}"
        if line is not None
        else "The message could not be rendered: {reason}",
        params={"line": line, "reason": reason},
        line=line,
    )
    result.over_budget = isinstance(error, BudgetExceeded | RecursionError | MemoryError)
    return result
