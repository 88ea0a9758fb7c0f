"""Merge fields in page text: the one place pages meet the shared merge-field contract
(`richsms.merge.fields`), in its autoescaped form.

Every text setting of a block is a sandboxed template over `contact` (standard and
custom fields) and `link`, rendered within a budget; a contact's data is always text,
never markup.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateSyntaxError
from markupsafe import Markup, escape

from richsms.errors import InvalidInput
from richsms.merge import fields as merge_fields

# One setting's budget: a page is small, and a runaway template stops here.
BUDGET = merge_fields.RenderBudget(max_chars=20_000, max_seconds=0.05)

_ENV = merge_fields.MergeEnvironment(autoescape=True)


@dataclass(frozen=True, slots=True)
class MergeText:
    """A checked text setting: literal text is escaped once; templates render per contact."""

    source: str
    literal: Markup | None
    compiled: Template | None

    @property
    def personal(self) -> bool:
        return self.literal is None


def check_text(source: str, *, custom_fields: Collection[str] | None, where: str) -> MergeText:
    """The text checked for unknown fields and syntax; InvalidInput names `where`.
    `custom_fields` None compiles without the field check (a stored page checked on save,
    whose custom fields may since have been renamed: they then render empty)."""
    if "{" not in source:
        return MergeText(source, escape(source), None)
    try:
        if custom_fields is None:
            return MergeText(source, None, _ENV.from_string(source))
        checked = merge_fields.check_template(
            _ENV, source, custom_fields=custom_fields, names=("contact", "link")
        )
    except merge_fields.TemplateError as exc:
        raise InvalidInput("{where}: {reason}", params={"where": where, "reason": exc}) from None
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"{where}: line {exc.lineno}: {exc.message}") from None
    return MergeText(source, None, checked.jinja)


class PageBudget:
    """The time one page's whole render may take (`seconds`, from now): each text gets
    what is left, at most its own BUDGET; once it is spent, the remaining texts with merge
    fields show empty. `overrun` is the index of the block during which it ran out."""

    __slots__ = ("_end", "overrun", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self.overrun: int | None = None

    def left(self) -> merge_fields.RenderBudget | None:
        left = self._end - time.monotonic()
        if left <= 0:
            return None
        if left >= BUDGET.max_seconds:
            return BUDGET
        return merge_fields.RenderBudget(max_chars=BUDGET.max_chars, max_seconds=left)

    def spent_at(self, block: int) -> None:
        """Called after each personal block: notes the first one past the deadline."""
        if self.overrun is None and time.monotonic() > self._end:
            self.overrun = block


def render_text(
    text: MergeText,
    contact: Mapping[str, Any],
    *,
    link: str = "",
    page: PageBudget | None = None,
) -> Markup:
    """The text for one contact, escaped; the contact's values are never markup. Within
    what is left of `page`'s budget when given (nothing left: empty)."""
    if text.literal is not None:
        return text.literal
    assert text.compiled is not None
    budget = BUDGET if page is None else page.left()
    if budget is None:
        return Markup("")
    try:
        # Autoescaped: the output is already HTML-safe, the contact's values escaped.
        html = merge_fields.render_budgeted(text.compiled, contact, link=link, budget=budget)
        return Markup(html)
    except merge_fields.TemplateError:
        # A contact whose data breaks a checked template sees the page without that text.
        return Markup("")
