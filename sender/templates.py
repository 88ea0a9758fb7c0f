"""Sandboxed Jinja2 message templates with merge fields checked when the template is saved.

A template may name two things: `contact` (only as `contact.field` or `contact["field"]`,
for a standard or declared custom field) and `link` (the recipient's short link). Every
mistake a marketer can make in the editor — unknown field, unknown variable, unknown
filter, syntax error — is reported at save time with its line and column, so a campaign
never fails halfway through a send.

Templates are rendered once per recipient, millions of times per campaign. The common
shape (literal text, fields, `default(...)`, `link`) is therefore rendered by a plan of
string pieces built from the Jinja AST, without entering Jinja at all; anything else
(conditions, other filters, loops) goes through the sandboxed Jinja template.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from richsms.errors import InvalidInput

STANDARD_FIELDS: Final = ("first_name", "last_name", "phone", "email", "language", "timezone")
CONTACT: Final = "contact"
LINK: Final = "link"
TOP_LEVEL_NAMES: Final = (CONTACT, LINK)

# An SMS is at most a few hundred characters: anything near this size is a mistake or
# an attempt to exhaust the worker, and must not be computed (not even at save time,
# where Jinja folds constant expressions).
_MAX_PRODUCT_LENGTH: Final = 10_000
_MAX_EXPONENT: Final = 64


class TemplateError(InvalidInput):
    """A template that cannot be saved or rendered; `line` and `column` are 1-based."""

    code = "template_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.line = line
        self.column = column


def _is_blank(value: object) -> bool:
    return value is None or isinstance(value, Undefined) or (isinstance(value, str) and not value)


def _default_filter(value: object, default_value: object = "", boolean: bool = False) -> object:
    # Jinja's own `default` only replaces undefined values; a contact's blank first name
    # is an empty string (or NULL), and marketers expect "ami" there too.
    if _is_blank(value) or (boolean and not value):
        return default_value
    return value


class _SmsEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(count, int):
                    if len(sized) * count > _MAX_PRODUCT_LENGTH:
                        raise SecurityError("the repeated value would be too long")
        elif operator == "**" and isinstance(right, int) and abs(right) > _MAX_EXPONENT:
            raise SecurityError("the exponent is too large")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Field lookups are most of a personalised template's work: skip the generic
        # sandbox checks for the wrapper, which only ever hands out field values.
        if type(obj) is _ContactFields:
            return obj.__getattr__(attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) is _ContactFields and isinstance(argument, str):
            return obj.__getattr__(argument)
        return super().getitem(obj, argument)


def _new_environment() -> _SmsEnvironment:
    env = _SmsEnvironment(
        autoescape=False,  # SMS text, not HTML: "&" must stay "&"
        keep_trailing_newline=True,
        undefined=StrictUndefined,  # a mistake the checks missed fails loudly, never silently
    )
    env.filters["default"] = _default_filter
    env.filters["d"] = _default_filter
    env.globals.clear()  # only `contact` and `link` may be named: range(), dict()... are not
    return env


_ENV: Final = _new_environment()


class _ContactFields:
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


# --- Locating a node in the source -----------------------------------------------------
# Jinja nodes only carry a line number: the column is found by searching the line for
# the construct, preferring what sits inside `{{ }}` / `{% %}` over literal text.

_NEWLINE = re.compile(r"\r\n|\r|\n")  # the same line breaks Jinja's lexer counts
_CODE_SPAN = re.compile(r"\{[{%].*?(?:[}%]\}|$)")


def _lines(source: str) -> list[str]:
    return _NEWLINE.split(source)


def _column(lines: list[str], line: int, pattern: re.Pattern[str], group: int = 0) -> int:
    if not 1 <= line <= len(lines):
        return 1
    text = lines[line - 1]
    for span in _CODE_SPAN.finditer(text):
        found = pattern.search(text, span.start(), span.end())
        if found is not None:
            return found.start(group) + 1
    found = pattern.search(text)
    return found.start(group) + 1 if found is not None else 1


def _field_pattern(name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    return re.compile(
        rf"\b{CONTACT}\s*(?:\.\s*(?P<field>{escaped})\b|\[\s*(['\"])(?P<quoted>{escaped})\2)"
    )


def _field_column(lines: list[str], line: int, name: str) -> int:
    pattern = _field_pattern(name)
    if 1 <= line <= len(lines):
        found = pattern.search(lines[line - 1])
        if found is not None:
            return found.start("field" if found.group("field") is not None else "quoted") + 1
    return 1


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(name)}\b")


# --- Save-time checks ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Problem:
    line: int
    column: int
    message: str
    field: str | None = None

    def error(self) -> TemplateError:
        return TemplateError(
            f"{self.message} (line {self.line}, column {self.column})",
            field=self.field,
            line=self.line,
            column=self.column,
        )


def _walk(node: nodes.Node, parent: nodes.Node | None = None) -> Iterator[tuple[nodes.Node, Any]]:
    yield node, parent
    for child in node.iter_child_nodes():
        yield from _walk(child, node)


def _contact_field(node: nodes.Node) -> str | None:
    """The field read by `contact.x` / `contact["x"]`, or None for another node."""
    if isinstance(node, nodes.Getattr):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == CONTACT:
            return str(node.attr)
    if isinstance(node, nodes.Getitem):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == CONTACT:
            argument = node.arg
            if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
                return argument.value
    return None


@dataclass(slots=True)
class _Findings:
    fields: dict[str, tuple[int, int]]  # field -> position of its first use
    uses_link: bool
    problems: list[_Problem]


def _inspect(tree: nodes.Template, source: str, allowed_fields: frozenset[str]) -> _Findings:
    lines = _lines(source)
    undeclared = _undeclared_names(tree)
    findings = _Findings(fields={}, uses_link=False, problems=[])
    problems = findings.problems
    known = ", ".join(sorted(allowed_fields))

    for node, parent in _walk(tree):
        line = node.lineno
        if isinstance(node, nodes.Name):
            name = node.name
            if node.ctx in ("store", "param") and name in TOP_LEVEL_NAMES:
                column = _column(lines, line, _word(name))
                problems.append(_Problem(line, column, f"'{name}' cannot be redefined"))
            elif node.ctx != "load":
                continue
            elif name == CONTACT:
                if not (isinstance(parent, nodes.Getattr | nodes.Getitem) and parent.node is node):
                    pattern = re.compile(rf"(?<![\w.]){CONTACT}\b(?!\s*[.\[])")
                    problems.append(
                        _Problem(
                            line,
                            _column(lines, line, pattern),
                            f"'{CONTACT}' alone is not a value: use a field, "
                            f"e.g. {{{{ {CONTACT}.first_name }}}}",
                        )
                    )
            elif name == LINK:
                findings.uses_link = True
            elif name in undeclared:
                problems.append(
                    _Problem(
                        line,
                        _column(lines, line, _word(name)),
                        f"Unknown variable '{name}': only '{CONTACT}' and '{LINK}' are available",
                    )
                )
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            field = _contact_field(node)
            target = node.node
            is_contact = isinstance(target, nodes.Name) and target.name == CONTACT
            if field is not None:
                if field not in allowed_fields:
                    problems.append(
                        _Problem(
                            line,
                            _field_column(lines, line, field),
                            f"Unknown field '{field}'. Known fields: {known}",
                            field,
                        )
                    )
                elif field not in findings.fields:
                    findings.fields[field] = (line, _field_column(lines, line, field))
                else:
                    position = (line, _field_column(lines, line, field))
                    findings.fields[field] = min(findings.fields[field], position)
            elif is_contact:
                problems.append(
                    _Problem(
                        line,
                        _column(lines, line, re.compile(rf"\b{CONTACT}\s*\[")),
                        'A field must be named literally, e.g. contact["city"]',
                    )
                )
            elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
                problems.append(_private(lines, line, node.attr))
            elif (
                isinstance(node, nodes.Getitem)
                and isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str)
                and node.arg.value.startswith("_")
            ):
                problems.append(_private(lines, line, node.arg.value))
        elif isinstance(node, nodes.Filter) and node.name not in _ENV.filters:
            pattern = re.compile(rf"\|\s*({re.escape(node.name)})\b")
            problems.append(
                _Problem(line, _column(lines, line, pattern, 1), f"Unknown filter '{node.name}'")
            )
        elif isinstance(node, nodes.Test) and node.name not in _ENV.tests:
            pattern = re.compile(rf"\bis\s+(?:not\s+)?({re.escape(node.name)})\b")
            problems.append(
                _Problem(line, _column(lines, line, pattern, 1), f"Unknown test '{node.name}'")
            )
        elif isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            tag = type(node).__name__.lower().replace("fromimport", "from")
            problems.append(
                _Problem(
                    line,
                    _column(lines, line, re.compile(rf"\{{%-?\s*({tag})\b"), 1),
                    f"'{tag}' is not available in messages",
                )
            )
    return findings


# Names Jinja binds by itself inside loops, macros and call blocks.
_IMPLICIT_NAMES: Final = frozenset({"loop", "caller", "varargs", "kwargs"})


def _undeclared_names(tree: nodes.Template) -> set[str]:
    try:
        return meta.find_undeclared_variables(tree)
    except TemplateSyntaxError:
        # Jinja's scoping analysis stops at an unknown filter or test, which is reported
        # on its own; meanwhile, any name the template never binds is undeclared.
        bound = {name.name for name in tree.find_all(nodes.Name) if name.ctx != "load"}
        loaded = {name.name for name in tree.find_all(nodes.Name) if name.ctx == "load"}
        return loaded - bound - _IMPLICIT_NAMES


def _private(lines: list[str], line: int, attribute: str) -> _Problem:
    return _Problem(
        line,
        _column(lines, line, re.compile(rf"[.\[]\s*['\"]?({re.escape(attribute)})\b"), 1),
        f"'{attribute}' is not accessible in a message",
    )


_UNEXPECTED_CHAR = re.compile(r" at (\d+)$")
_OFFENDING_TOKEN = re.compile(r"(?:got|unexpected|unknown tag) '([^']+)'", re.IGNORECASE)
_TOKEN_TEXT: Final = {
    "end of print statement": "}}",
    "end of statement block": "%}",
}


def _syntax_error(error: TemplateSyntaxError, source: str) -> TemplateError:
    """Best-effort column for Jinja's syntax errors, which only carry a line."""
    lines = _lines(source)
    line = error.lineno or 1
    message = error.message or "invalid template"
    column = 1
    at = _UNEXPECTED_CHAR.search(message)
    token = _OFFENDING_TOKEN.search(message)
    if at is not None:
        # The lexer gives an offset in the whole source, counted on "\n"-normalised text.
        offset = int(at.group(1))
        before = _NEWLINE.sub("\n", source)[:offset]
        line = before.count("\n") + 1
        column = offset - (before.rfind("\n") + 1) + 1
        message = message[: at.start()]
    elif "end of template" in message.lower() or "missing end of" in message.lower():
        line = min(line, len(lines))
        column = len(lines[line - 1]) + 1
    elif token is not None:
        text = _TOKEN_TEXT.get(token.group(1), token.group(1))
        column = _column(lines, line, re.compile(re.escape(text)))
    return TemplateError(
        f"Syntax error (line {line}, column {column}): {message}", line=line, column=column
    )


# --- The fast renderer -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FieldPiece:
    name: str
    defaults: tuple[str, ...]  # arguments of the chained `default(...)` filters, in order


_Piece = str | _FieldPiece | None  # literal text, a field, or None for the link
_Renderer = Callable[[Mapping[str, object], str], str]


def _plan_piece(node: nodes.Node) -> _Piece | bool:
    """The piece for an output node, or False when only Jinja can render it."""
    if isinstance(node, nodes.TemplateData):
        return str(node.data)
    if isinstance(node, nodes.Const):
        return str(node.value)
    if isinstance(node, nodes.Name) and node.name == LINK:
        return None
    defaults: list[str] = []
    while isinstance(node, nodes.Filter):
        if node.name not in ("default", "d") or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return False
        if len(node.args) > 1:
            return False
        if node.args:
            argument = node.args[0]
            if not (isinstance(argument, nodes.Const) and isinstance(argument.value, str)):
                return False
            defaults.append(argument.value)
        else:
            defaults.append("")
        if node.node is None:
            return False
        node = node.node
    field = _contact_field(node)
    if field is None:
        return False
    defaults.reverse()  # the filter nearest the field applies first
    return _FieldPiece(field, tuple(defaults))


def _plan(tree: nodes.Template) -> tuple[_Piece, ...] | None:
    pieces: list[_Piece] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            piece = _plan_piece(node)
            if piece is False:
                return None
            assert not isinstance(piece, bool)
            if isinstance(piece, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += piece
            else:
                pieces.append(piece)
    return tuple(pieces)


def _slot_key(piece: _FieldPiece) -> tuple[str, str]:
    # Chained defaults: the first non-blank one wins, as Jinja would apply them in turn.
    return piece.name, next((text for text in piece.defaults if text), "")


def _plan_renderer(pieces: tuple[_Piece, ...]) -> _Renderer:
    # The literal text becomes a str.format pattern with numbered slots, so one C call
    # assembles the message; Python only looks the fields up and applies their default.
    slots: dict[tuple[str, str], int] = {}  # (field, fallback) -> its slot
    for piece in pieces:
        if isinstance(piece, _FieldPiece):
            slots.setdefault(_slot_key(piece), len(slots))
    link_slot = len(slots)
    pattern: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            pattern.append(piece.replace("{", "{{").replace("}", "}}"))
        else:
            slot = link_slot if piece is None else slots[_slot_key(piece)]
            pattern.append(f"{{{slot}}}")
    assemble = "".join(pattern).format
    fields = tuple(slots)

    def render(contact: Mapping[str, object], link: str) -> str:
        get = contact.get
        values: list[object] = []
        append = values.append
        for name, fallback in fields:
            value = get(name)
            if value.__class__ is str:
                append(value or fallback)
            elif value is None or (isinstance(value, str) and not value):
                append(fallback)
            else:
                append(str(value))
        append(str(link))
        return assemble(*values)

    return render


# --- The compiled template -------------------------------------------------------------


def _jinja_renderer(jinja: Template) -> _Renderer:
    # Template.render copies every global into each new context; a message may not name
    # any global, so a context holding only `contact` and `link` renders ~3x faster.
    new_context = jinja.new_context
    root = jinja.root_render_func

    def render(contact: Mapping[str, object], link: str) -> str:
        context = new_context({CONTACT: _ContactFields(contact), LINK: link}, shared=True)
        return "".join(root(context))

    return render


class MessageTemplate:
    """A checked template, compiled once; `render` is safe to call per recipient."""

    __slots__ = ("_jinja", "_render", "_render_with_jinja", "fields", "source", "uses_link")

    def __init__(
        self,
        source: str,
        fields: tuple[str, ...],
        uses_link: bool,
        jinja: Template,
        fast: _Renderer | None,
    ) -> None:
        self.source = source
        self.fields = fields  # contact fields the template reads, in order of first use
        self.uses_link = uses_link
        self._jinja = jinja
        # The general path stays reachable so that tests can hold the fast one to it.
        self._render_with_jinja = _jinja_renderer(jinja)
        self._render = fast if fast is not None else self._render_with_jinja

    @property
    def is_fast(self) -> bool:
        """Whether renders bypass Jinja (plain text, fields, `default(...)`, link)."""
        return self._render is not self._render_with_jinja

    def render(self, contact: Mapping[str, object], link: str = "") -> str:
        try:
            return self._render(contact, link)
        except Exception as error:  # a filter, the sandbox or a value's __str__ refused
            raise _render_error(error, self._jinja) from error

    def __repr__(self) -> str:
        return f"MessageTemplate({self.source!r})"


def _render_error(error: Exception, jinja: Template) -> TemplateError:
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<template>" and frame.lineno is not None:
            line = jinja.get_corresponding_lineno(frame.lineno)
    reason = str(error) or type(error).__name__
    where = f" (line {line})" if line is not None else ""
    return TemplateError(f"The message could not be rendered{where}: {reason}", line=line)


def compile_template(source: str, *, custom_fields: Collection[str] = ()) -> MessageTemplate:
    """Check `source` and compile it; raise TemplateError describing the first mistake."""
    allowed = frozenset(STANDARD_FIELDS).union(custom_fields)
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as error:
        raise _syntax_error(error, source) from None
    findings = _inspect(tree, source, allowed)
    if findings.problems:
        first = min(findings.problems, key=lambda problem: (problem.line, problem.column))
        raise first.error()
    pieces = _plan(tree)
    try:
        jinja = _ENV.from_string(source)
    except TemplateSyntaxError as error:
        raise _syntax_error(error, source) from None
    except SecurityError as error:  # a constant expression the sandbox refused to fold
        raise TemplateError(f"The template is not allowed: {error}") from None
    fields = tuple(sorted(findings.fields, key=findings.fields.__getitem__))
    fast = _plan_renderer(pieces) if pieces is not None else None
    return MessageTemplate(source, fields, findings.uses_link, jinja, fast)
