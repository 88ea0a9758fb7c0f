"""Turning a page version into HTML: compiled once per version, rendered per recipient.

Compiling validates the stored blocks, checks their merge fields and renders (and
compresses: `landing_templates.pieces`) everything that does not depend on the recipient;
a recipient's render then fills in only the personal blocks. A personal block whose
output depends on little (a coupon's code, the countdown's second) is rendered once per
value and kept, compressed, in the compiled page's fragment cache. Templates are our own
files (trusted); the marketer's text goes through the merge-field sandbox, and the
contact's data is always escaped.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from landing_templates.blocks import BLOCK_TYPES
from landing_templates.blocks.base import BlockSettings, BlockType, Recipient, SpinView
from landing_templates.images import ImageInfo
from landing_templates.merge import MergeText, PageBudget, check_text, render_text
from landing_templates.pieces import Piece, compressed, dynamic
from landing_templates.validation import parse_block
from richsms import i18n
from richsms.assets import STATIC
from richsms.errors import InvalidInput
from richsms.i18n import N_

HERE = Path(__file__).resolve().parent


def _paragraphs(text: Markup) -> list[Markup]:
    """Blank lines split paragraphs, single newlines become <br> (on escaped text)."""
    parts = re.split(r"\n\s*\n", str(text).replace("\r\n", "\n").strip())
    return [Markup(p.replace("\n", "<br>")) for p in parts if p]


_ENV = Environment(
    loader=FileSystemLoader([str(HERE / "blocks"), str(HERE / "templates")]),
    autoescape=True,
    undefined=StrictUndefined,
    auto_reload=False,
)
_ENV.filters["paragraphs"] = _paragraphs
i18n.install(_ENV)

# What a page link says instead of the page: (title, message) by kind.
NOTICES = {
    "expired": (N_("Offer ended"), N_("This link has expired. Thank you for your interest.")),
    "unpublished": (N_("Page unavailable"), N_("This page is no longer available.")),
    "not_found": (N_("Page not found"), N_("This page does not exist. Check the link you got.")),
}


@dataclass(frozen=True, slots=True)
class CompiledBlock:
    settings: BlockSettings
    kind: BlockType
    texts: Mapping[str, MergeText]
    template: Template
    html: Markup | None  # rendered once when nothing in it depends on the recipient
    first: bool
    index: int = 0


class _Slot:
    """Where something of the response goes in a compiled page's layout."""


NONCE = _Slot()  # the script nonce
EVENTS = _Slot()  # where the page's scripts report events (`/p/{token}/events/`), if anywhere
# Layout items: a piece sent as is, a personal block rendered per view, or a slot.
LayoutItem = Piece | CompiledBlock | _Slot


class FragmentCache:
    """Rendered personal blocks by (block, texts, key), most recently used last. Bounded:
    a campaign's hot recipients stay, the oldest tenth goes when it is full."""

    def __init__(self, max_entries: int) -> None:
        self._entries: dict[Hashable, Piece] = {}
        self._max = max_entries

    def get(self, key: Hashable) -> Piece | None:
        piece = self._entries.pop(key, None)
        if piece is not None:
            self._entries[key] = piece
        return piece

    def put(self, key: Hashable, piece: Piece) -> None:
        if len(self._entries) >= self._max:
            try:
                for old in list(islice(self._entries, self._max // 10 or 1)):
                    self._entries.pop(old, None)
            except RuntimeError:  # another thread changed it meanwhile: drop it all
                self._entries.clear()
        self._entries[key] = piece

    def __len__(self) -> int:
        return len(self._entries)


# Rendered personal blocks a process keeps, all pages together (a coupon block is 1-3 KB
# with its symbol and its compressed form): about 100 MB at most.
FRAGMENTS = 40_000


@dataclass(frozen=True, slots=True)
class CompiledPage:
    page_id: int
    version: int
    name: str
    language: str
    theme: Mapping[str, Any]
    blocks: tuple[CompiledBlock, ...]
    images: Mapping[int, ImageInfo]
    css: str
    scripts: tuple[str, ...]
    title: str
    description: str
    card_image: ImageInfo | None
    layout: tuple[LayoutItem, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict)
    """What `compile_page` compiled it from (its keywords): a worker process compiles the
    same page from it (`landing_templates.viewer`, heavy pages)."""

    def blocks_of(self, *types: str) -> Iterable[CompiledBlock]:
        return (b for b in self.blocks if b.settings.type in types)


def compile_page(
    *,
    page_id: int,
    version: int,
    name: str,
    language: str,
    theme: Mapping[str, Any],
    blocks: list[dict[str, Any]],
    images: Mapping[int, ImageInfo],
    custom_fields: Collection[str] | None = None,
) -> CompiledPage:
    words = i18n.jinja_context(language)
    compiled = []
    for index, raw in enumerate(blocks):
        settings = parse_block(index, raw)
        kind = BLOCK_TYPES[settings.type]
        where = f"blocks[{index}]"
        texts = {
            name: check_text(getattr(settings, name), custom_fields=custom_fields, where=where)
            for name in kind.texts
        }
        template = _ENV.get_template(f"{kind.name}.html")
        static = not kind.personal and not any(t.personal for t in texts.values())
        block = CompiledBlock(settings, kind, texts, template, None, index == 0, index)
        if static:
            html = _render_block(block, {}, None, images, words)
            block = CompiledBlock(settings, kind, texts, template, html, index == 0, index)
        compiled.append(block)
    types = list(dict.fromkeys(b.kind.name for b in compiled))
    css = _asset("page.css") + "".join(_asset(f"{t}.css") for t in types if BLOCK_TYPES[t].style)
    scripts = tuple(_asset(f"{t}.js") for t in types if BLOCK_TYPES[t].script)
    if scripts:  # the blocks' scripts report what happens through it (`rsEvent`)
        scripts = (_asset("events.js"), *scripts)
    logo = theme.get("logo_image_id")
    first_image = next((b.settings for b in compiled if b.kind.name == "image"), None)
    card_id = getattr(first_image, "image_id", None) or logo
    css = css.replace("\n", "")
    return CompiledPage(
        page_id=page_id,
        version=version,
        name=name,
        language=language,
        theme=theme,
        blocks=tuple(compiled),
        images=images,
        css=css,
        scripts=scripts,
        title=_first_literal(compiled, "heading") or name,
        description=_first_literal(compiled, "text"),
        card_image=images.get(int(card_id)) if card_id else None,
        layout=_layout(language, name, theme, css, images, compiled, scripts),
        source={
            "page_id": page_id, "version": version, "name": name, "language": language,
            "theme": theme, "blocks": blocks, "images": images, "custom_fields": custom_fields,
        },
    )  # fmt: skip


def _layout(
    language: str,
    name: str,
    theme: Mapping[str, Any],
    css: str,
    images: Mapping[int, ImageInfo],
    blocks: list[CompiledBlock],
    scripts: tuple[str, ...],
) -> tuple[LayoutItem, ...]:
    """The page as static pieces (compressed once) around its personal blocks and nonces."""
    body_mark, nonce_mark, events_mark = (
        f"\ue000{secrets.token_hex(8)}\ue000" for _ in range(3)
    )
    logo_id = theme.get("logo_image_id")
    shell = _page_template().render(
        lang=language,
        title=name,
        description="",
        theme=_theme(theme),
        css=css,
        logo=images.get(int(logo_id)) if logo_id else None,
        body=Markup(body_mark),
        scripts=scripts,
        nonce=Markup(nonce_mark),
        events=Markup(events_mark),
    )
    marks = "|".join(re.escape(mark) for mark in (body_mark, nonce_mark, events_mark))
    items: list[str | CompiledBlock | _Slot] = []
    for part in re.split(f"({marks})", shell):
        if part == body_mark:
            items.extend(b.html if b.html is not None else b for b in blocks)
        elif part == nonce_mark:
            items.append(NONCE)
        elif part == events_mark:
            items.append(EVENTS)
        elif part:
            items.append(part)
    layout: list[LayoutItem] = []
    text: list[str] = []
    for item in [*items, NONCE]:  # a sentinel to flush the last text
        if isinstance(item, str):
            text.append(item)
            continue
        if text:
            layout.append(compressed("".join(text)))
            text = []
        layout.append(item)
    return tuple(layout[:-1])


def _first_literal(blocks: list[CompiledBlock], kind: str) -> str:
    """The first block of `kind` whose text is the same for everyone (never a contact's data)."""
    for block in blocks:
        if block.kind.name != kind:
            continue
        text = block.texts.get("text")
        if text is not None and text.literal is not None:
            return text.source[:200]
    return ""


def render_pieces(
    page: CompiledPage,
    recipient: Recipient,
    *,
    nonce: str,
    fragments: FragmentCache | None = None,
    budget: PageBudget | None = None,
) -> list[Piece]:
    """The page for one recipient: the compiled pieces with the personal parts filled in
    (from and into `fragments` when given), its texts within the page's `budget`."""
    words = i18n.jinja_context(page.language)
    out: list[Piece] = []
    pending: list[str] = []  # per-view text, sent as one piece
    # Previews (no token) and link-less views report nothing.
    events = f"/p/{recipient.token}/events/" if recipient.token else ""
    for item in page.layout:
        if isinstance(item, CompiledBlock):
            fragment = _personal_block(page, item, recipient, words, fragments, budget)
            if budget is not None:
                budget.spent_at(item.index)
            if isinstance(fragment, str):
                pending.append(fragment)
                continue
        elif isinstance(item, _Slot):
            pending.append(nonce if item is NONCE else str(escape(events)))
            continue
        else:
            fragment = item
        if pending:
            out.append(dynamic("".join(pending)))
            pending = []
        out.append(fragment)
    if pending:
        out.append(dynamic("".join(pending)))
    return out


def render_page(
    page: CompiledPage, recipient: Recipient, *, nonce: str, budget: PageBudget | None = None
) -> str:
    pieces = render_pieces(page, recipient, nonce=nonce, budget=budget)
    return b"".join(p.raw for p in pieces).decode()


def check_render_time(page: CompiledPage, recipient: Recipient, *, seconds: float) -> None:
    """Render `page` once for `recipient` (a sample) as a view would; InvalidInput naming
    the block during which the whole render passed `seconds`: such a page would show its
    later texts empty to everyone."""
    budget = PageBudget(seconds)
    render_pieces(page, recipient, nonce="", budget=budget)
    if budget.overrun is not None:
        block = page.blocks[budget.overrun]
        raise InvalidInput(
            "blocks[{index}] ({type}): the page takes longer than {seconds} s to render here: "
            "simplify the merge fields of this block or of the ones before it",
            params={"index": block.index, "type": block.kind.name, "seconds": seconds},
        )


def _personal_block(
    page: CompiledPage,
    block: CompiledBlock,
    recipient: Recipient,
    words: Mapping[str, Any],
    fragments: FragmentCache | None,
    budget: PageBudget | None,
) -> Piece | str:
    contact, link = recipient.contact, recipient.link
    texts = {
        name: render_text(text, contact, link=link, page=budget)
        for name, text in block.texts.items()
    }
    key_of: Callable[[BlockSettings, Recipient], Hashable] | None = block.kind.key
    if fragments is None or (key_of is None and block.kind.personal):
        return str(_render_block(block, contact, recipient, page.images, words, link, texts))
    # A block personal only through its texts (a heading with a name) is keyed by them.
    extra = key_of(block.settings, recipient) if key_of is not None else None
    key = (page.page_id, page.version, block.index, tuple(texts.values()), extra)
    piece = fragments.get(key)
    if piece is None:
        html = _render_block(block, contact, recipient, page.images, words, link, texts)
        piece = compressed(str(html), 6)
        fragments.put(key, piece)
    return piece


def render_spin_result(page: CompiledPage, spin: SpinView) -> str:
    """The wheel's result fragment, as the page shows it after a spin."""
    return _ENV.get_template("_wheel_result.html").render(
        spin=spin, **i18n.jinja_context(page.language)
    )


def render_card(page: CompiledPage, *, base_url: str) -> str:
    """What link-preview fetchers get: the page's public face, nothing of the recipient."""
    image = page.card_image
    return _ENV.get_template("card.html").render(
        lang=page.language,
        title=page.title,
        description=page.description,
        image=f"{base_url}img/{image.id}/{image.widths[-1]}.webp" if image else "",
    )


def render_notice(kind: str, language: str) -> str:
    title, message = NOTICES[kind]
    return render_message(title, message, language)


def render_message(title: str, message: str, language: str) -> str:
    """A page that only says something (a notice, a short link's error): its title and
    message are msgids, told in `language`."""
    gettext = i18n.translations(language).gettext
    return _ENV.get_template("notice.html").render(
        lang=language, title=gettext(title), message=gettext(message)
    )


def _render_block(
    block: CompiledBlock,
    contact: Mapping[str, Any],
    recipient: Recipient | None,
    images: Mapping[int, ImageInfo],
    words: Mapping[str, Any],
    link: str = "",
    texts: Mapping[str, Markup] | None = None,
) -> Markup:
    if texts is None:
        texts = {n: render_text(text, contact, link=link) for n, text in block.texts.items()}
    data_of: Callable[[BlockSettings, Recipient], dict[str, Any]] | None = block.kind.data
    data = data_of(block.settings, recipient) if data_of is not None and recipient else {}
    return Markup(
        block.template.render(
            s=block.settings, t=texts, d=data, images=images, first=block.first, **words
        )
    )


def _theme(theme: Mapping[str, Any]) -> dict[str, str]:
    out = {"primary": "#1d4ed8", "background": "#ffffff", "text": "#111827"}
    out.update({k: str(escape(v)) for k, v in theme.items() if k in out})
    return out


def preload_templates() -> None:
    """Compile every block and page template now (a process's first view then finds them)."""
    for kind in BLOCK_TYPES:
        _ENV.get_template(f"{kind}.html")
    for name in ("_coupon_code.html", "_wheel_result.html", "card.html", "notice.html"):
        _ENV.get_template(name)
    _page_template()


@cache
def _page_template() -> Template:
    return _ENV.get_template("page.html")


@cache
def _asset(name: str) -> str:
    return (STATIC / "blocks" / name).read_text(encoding="utf-8").strip()
