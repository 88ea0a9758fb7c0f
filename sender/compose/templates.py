"""SMS message templates: the merge-field contract of `richsms.merge.fields` in a plain-text
sandbox, compiled once and rendered per recipient.

Templates are rendered once per recipient, millions of times per campaign. The common
shape (literal text, fields, `default(...)`, `link`) is therefore rendered by a plan of
string pieces built from the Jinja AST, without entering Jinja at all; anything else
(conditions, other filters, loops) goes through the sandboxed, budgeted Jinja template.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from jinja2 import TemplateSyntaxError, nodes

from richsms.merge.fields import (
    DEFAULT_NAMES,
    EVENT,
    LINK,
    REPLY,
    STANDARD_FIELDS,
    CheckedTemplate,
    ContactFields,
    MergeEnvironment,
    RenderBudget,
    TemplateError,
    check_template,
    contact_field,
    render_budgeted,
    too_long,
)

__all__ = [
    "SMS_BUDGET",
    "STANDARD_FIELDS",
    "ContactFields",
    "MessageTemplate",
    "TemplateError",
    "compile_template",
]

# An SMS is at most a few hundred characters and renders in microseconds: anything near
# these bounds is a mistake or an attempt to exhaust the worker.
SMS_BUDGET: Final = RenderBudget(max_chars=10_000, max_seconds=0.25)

_ENV: Final = MergeEnvironment(autoescape=False)  # SMS text, not HTML: "&" stays "&"
# Where a recipient's answers to reply choices travel among their merge fields, for a
# template that reads `reply.campaign_<id>` ({"campaign_12": "OUI"}): a key no template
# can name as a contact field (field names are letters, digits and _).
REPLIES: Final = "@reply"


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
    field = contact_field(node)
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


class MessageTemplate:
    """A checked template, compiled once; `render` is safe to call per recipient."""

    __slots__ = (
        "_fast", "checked", "event_fields", "fields", "reply_campaigns", "source", "uses_link",
    )  # fmt: skip

    def __init__(self, checked: CheckedTemplate, fast: _Renderer | None) -> None:
        self.checked = checked
        self.source = checked.source
        self.fields = checked.fields  # contact fields the template reads, in order of first use
        self.event_fields = checked.event_fields  # `event.x` fields (an event automation's)
        self.uses_link = checked.uses_link
        # The campaigns whose reply choices it reads (`reply.campaign_<id>`): their
        # answers come among the recipient's fields, under REPLIES.
        self.reply_campaigns = tuple(int(f.removeprefix("campaign_")) for f in checked.reply_fields)
        self._fast = fast

    @property
    def is_fast(self) -> bool:
        """Whether renders bypass Jinja (plain text, fields, `default(...)`, link)."""
        return self._fast is not None

    def render(
        self,
        contact: Mapping[str, object],
        link: str = "",
        *,
        budget: RenderBudget = SMS_BUDGET,
        event: Mapping[str, object] | None = None,
    ) -> str:
        """The text for one recipient; TemplateError if it fails or goes past `budget`.
        `event`: the outside event's data an event automation's template reads as
        `event.x` (such a template always takes the sandboxed, budgeted Jinja path)."""
        if self._fast is None:
            variables: dict[str, object] = {} if event is None else {EVENT: ContactFields(event)}
            if self.reply_campaigns:
                answers = contact.get(REPLIES)
                variables[REPLY] = ContactFields(answers if isinstance(answers, Mapping) else {})
            return render_budgeted(
                self.checked, contact, link=link, budget=budget, variables=variables
            )
        try:
            text = self._fast(contact, link)
        except Exception as error:  # a value's __str__ refused
            raise TemplateError(
                "The message could not be rendered: {reason}", params={"reason": str(error)}
            ) from error
        if len(text) > budget.max_chars:
            raise too_long(len(text), budget)
        return text

    def _render_with_jinja(self, contact: Mapping[str, object], link: str = "") -> str:
        # The general path, which tests hold the fast one to.
        return render_budgeted(self.checked, contact, link=link, budget=SMS_BUDGET)

    def __repr__(self) -> str:
        return f"MessageTemplate({self.source!r})"


@lru_cache(maxsize=256)
def event_fields(source: str) -> tuple[str, ...]:
    """The outside event's fields (`event.x`) a saved template reads, without checking it
    again: what a trigger's data must hold (cached: triggers come by the thousand)."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError:
        return ()
    found: dict[str, None] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = contact_field(node, EVENT)
        if name is not None:
            found.setdefault(name)
    return tuple(found)


def compile_template(
    source: str, *, custom_fields: Collection[str] = (), events: bool = False
) -> MessageTemplate:
    """Check `source` and compile it; raise TemplateError describing the first mistake.
    With `events`, the template may also read an outside event's fields (`event.x`)."""
    names = (*DEFAULT_NAMES, REPLY, EVENT) if events else (*DEFAULT_NAMES, REPLY)
    checked = check_template(_ENV, source, custom_fields=custom_fields, names=names)
    pieces = _plan(checked.tree)
    return MessageTemplate(checked, _plan_renderer(pieces) if pieces is not None else None)
