"""Save-time checks of a merge-field template: what it reads, and its first mistake with
its line and column (Jinja only gives lines: columns are found by searching the line)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any, Final

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

from richsms.errors import InvalidInput

STANDARD_FIELDS: Final = ("first_name", "last_name", "phone", "email", "language", "timezone")
CONTACT: Final = "contact"
LINK: Final = "link"
EVENT: Final = "event"  # an outside event's data (an `event` automation's messages)
# A recipient's answers to campaigns that offered reply choices: `reply.campaign_12` is
# the choice they made ("OUI", "2"; "" before they answer). SMS templates only.
REPLY: Final = "reply"
REPLY_FIELD: Final = re.compile(r"campaign_([0-9]{1,10})")
DEFAULT_NAMES: Final = (CONTACT, LINK)


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
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, params=params)
        self.field = field
        self.line = line
        self.column = column
        # The render ran past its budget (time, size, work): the template itself is at
        # fault, whoever the recipient; callers stop instead of trying the next one.
        self.over_budget = False


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


def _field_column(lines: list[str], line: int, name: str) -> int:
    escaped = re.escape(name)
    pattern = re.compile(
        rf"\b{CONTACT}\s*(?:\.\s*(?P<field>{escaped})\b|\[\s*(['\"])(?P<quoted>{escaped})\2)"
    )
    if 1 <= line <= len(lines):
        found = pattern.search(lines[line - 1])
        if found is not None:
            return found.start("field" if found.group("field") is not None else "quoted") + 1
    return 1


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(name)}\b")


# --- Save-time checks ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: int
    message: str  # a template of `params` (see richsms/errors.py)
    params: Mapping[str, object] = default(default_factory=dict)
    field: str | None = None

    def error(self) -> TemplateError:
        # The problem is a sentence of its own, translated apart from where it is.
        problem = InvalidInput(self.message, params=self.params or None)
        return TemplateError(
            "{problem} (line {line}, column {column})",
            params={"problem": problem, "line": self.line, "column": self.column},
            field=self.field,
            line=self.line,
            column=self.column,
        )


def _walk(node: nodes.Node, parent: nodes.Node | None = None) -> Iterator[tuple[nodes.Node, Any]]:
    yield node, parent
    for child in node.iter_child_nodes():
        yield from _walk(child, node)


def contact_field(node: nodes.Node, owner: str = CONTACT) -> str | None:
    """The field read by `contact.x` / `contact["x"]` (by `event.x` with `owner=EVENT`),
    or None for another node."""
    if isinstance(node, nodes.Getattr):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == owner:
            return str(node.attr)
    if isinstance(node, nodes.Getitem):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == owner:
            argument = node.arg
            if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
                return argument.value
    return None


@dataclass(slots=True)
class Findings:
    fields: dict[str, tuple[int, int]]  # field -> position of its first use
    uses_link: bool
    problems: list[Problem]
    event_fields: dict[str, tuple[int, int]] = default(default_factory=dict)  # `event.x`
    reply_fields: dict[str, tuple[int, int]] = default(default_factory=dict)  # `reply.x`


def inspect_template(
    env: Environment,
    tree: nodes.Template,
    source: str,
    allowed_fields: frozenset[str],
    names: tuple[str, ...],
) -> Findings:
    lines = _lines(source)
    undeclared = _undeclared_names(tree)
    findings = Findings(fields={}, uses_link=False, problems=[])
    problems = findings.problems
    known = ", ".join(sorted(allowed_fields))
    available = " and ".join(f"'{name}'" for name in names)

    for node, parent in _walk(tree):
        line = node.lineno
        if isinstance(node, nodes.Name):
            name = node.name
            if node.ctx in ("store", "param") and name in names:
                column = _column(lines, line, _word(name))
                redefined = "'{name}' cannot be redefined"
                problems.append(Problem(line, column, redefined, {"name": name}))
            elif node.ctx != "load":
                continue
            elif name in (CONTACT, EVENT, REPLY) and name in names:  # records: only fields
                if not (isinstance(parent, nodes.Getattr | nodes.Getitem) and parent.node is node):
                    pattern = re.compile(rf"(?<![\w.]){name}\b(?!\s*[.\[])")
                    problems.append(
                        Problem(
                            line,
                            _column(lines, line, pattern),
                            "'{name}' alone is not a value: use a field, "
                            "e.g. {{{{ {name}.first_name }}}}",
                            {"name": name},
                        )
                    )
            elif name == LINK and LINK in names:
                findings.uses_link = True
            elif name in undeclared and name not in names:
                problems.append(
                    Problem(
                        line,
                        _column(lines, line, _word(name)),
                        "Unknown variable '{name}': only {available} are available",
                        {"name": name, "available": available},
                    )
                )
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            field = contact_field(node)
            target = node.node
            is_contact = isinstance(target, nodes.Name) and target.name == CONTACT
            if field is not None:
                position = (line, _field_column(lines, line, field))
                if field not in allowed_fields:
                    problems.append(
                        Problem(
                            *position,
                            "Unknown field '{field}'. Known fields: {known}",
                            {"field": field, "known": known},
                            field,
                        )
                    )
                elif field not in findings.fields:
                    findings.fields[field] = position
                else:
                    findings.fields[field] = min(findings.fields[field], position)
            elif REPLY in names and (answer := contact_field(node, REPLY)) is not None:
                position = (line, _column(lines, line, _word(answer)))
                if REPLY_FIELD.fullmatch(answer) is None:
                    problems.append(
                        Problem(
                            *position,
                            "Unknown reply field '{field}': use reply.campaign_<id>, the "
                            "choice a recipient made in answer to that campaign",
                            {"field": answer},
                        )
                    )
                findings.reply_fields[answer] = min(
                    findings.reply_fields.get(answer, position), position
                )
            elif EVENT in names and (event := contact_field(node, EVENT)) is not None:
                position = (line, _column(lines, line, _word(event)))
                findings.event_fields[event] = min(
                    findings.event_fields.get(event, position), position
                )
            elif is_contact:
                problems.append(
                    Problem(
                        line,
                        _column(lines, line, re.compile(rf"\b{CONTACT}\s*\[")),
                        'A field must be named literally, e.g. contact["city"]',
                        {},
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
        elif isinstance(node, nodes.Filter) and node.name not in env.filters:
            problems.append(_unknown(lines, line, "Unknown filter '{name}'", r"\|\s*", node.name))
        elif isinstance(node, nodes.Test) and node.name not in env.tests:
            problems.append(
                _unknown(lines, line, "Unknown test '{name}'", r"\bis\s+(?:not\s+)?", node.name)
            )
        elif isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            tag = type(node).__name__.lower().replace("fromimport", "from")
            problems.append(
                Problem(
                    line,
                    _column(lines, line, re.compile(rf"\{{%-?\s*({tag})\b"), 1),
                    "'{tag}' is not available here",
                    {"tag": tag},
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


def _unknown(lines: list[str], line: int, message: str, before: str, name: str) -> Problem:
    """A filter or test the environment lacks, pointed at where `name` follows `before`."""
    pattern = re.compile(rf"{before}({re.escape(name)})\b")
    return Problem(line, _column(lines, line, pattern, 1), message, {"name": name})


def _private(lines: list[str], line: int, attribute: str) -> Problem:
    return Problem(
        line,
        _column(lines, line, re.compile(rf"[.\[]\s*['\"]?({re.escape(attribute)})\b"), 1),
        "'{attribute}' is not accessible here",
        {"attribute": attribute},
    )


_UNEXPECTED_CHAR = re.compile(r" at (\d+)$")
_OFFENDING_TOKEN = re.compile(r"(?:got|unexpected|unknown tag) '([^']+)'", re.IGNORECASE)
_TOKEN_TEXT: Final = {
    "end of print statement": "}}",
    "end of statement block": "%}",
}


def syntax_error(error: TemplateSyntaxError, source: str) -> TemplateError:
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
        "Syntax error (line {line}, column {column}): {message}",
        params={"line": line, "column": column, "message": message},
        line=line,
        column=column,
    )
