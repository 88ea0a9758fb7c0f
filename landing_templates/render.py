"""Turning a page version into HTML: compiled once per version, rendered per recipient.

Compiling validates the stored blocks, checks their merge fields and renders every block
that does not depend on the recipient; a recipient's render then fills in only the
personal blocks. Templates are our own files (trusted); the marketer's text goes through
the merge-field sandbox, and the contact's data is always escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from landing_templates.blocks import BLOCK_TYPES
from landing_templates.blocks.base import BlockSettings, BlockType, Recipient, SpinView
from landing_templates.merge import MergeText, check_text, render_text
from landing_templates.validation import parse_block
from landing_templates.words import notice, words

HERE = Path(__file__).resolve().parent
STATIC = HERE.parent / "static"


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


@dataclass(frozen=True, slots=True)
class ImageInfo:
    id: int
    width: int
    height: int
    widths: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CompiledBlock:
    settings: BlockSettings
    kind: BlockType
    texts: Mapping[str, MergeText]
    template: Template
    html: Markup | None  # rendered once when nothing in it depends on the recipient
    first: bool


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
    lang = words(language)
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
        block = CompiledBlock(settings, kind, texts, template, None, index == 0)
        if static:
            html = _render_block(block, {}, None, images, lang)
            block = CompiledBlock(settings, kind, texts, template, html, index == 0)
        compiled.append(block)
    types = list(dict.fromkeys(b.kind.name for b in compiled))
    css = _asset("page.css") + "".join(
        _asset(f"{t}.css") for t in types if BLOCK_TYPES[t].style
    )
    scripts = tuple(_asset(f"{t}.js") for t in types if BLOCK_TYPES[t].script)
    logo = theme.get("logo_image_id")
    first_image = next((b.settings for b in compiled if b.kind.name == "image"), None)
    card_id = getattr(first_image, "image_id", None) or logo
    return CompiledPage(
        page_id=page_id,
        version=version,
        name=name,
        language=language,
        theme=theme,
        blocks=tuple(compiled),
        images=images,
        css=css.replace("\n", ""),
        scripts=scripts,
        title=_first_literal(compiled, "heading") or name,
        description=_first_literal(compiled, "text"),
        card_image=images.get(int(card_id)) if card_id else None,
    )


def _first_literal(blocks: list[CompiledBlock], kind: str) -> str:
    """The first block of `kind` whose text is the same for everyone (never a contact's data)."""
    for block in blocks:
        if block.kind.name != kind:
            continue
        text = block.texts.get("text")
        if text is not None and text.literal is not None:
            return text.source[:200]
    return ""


def render_page(page: CompiledPage, recipient: Recipient, *, nonce: str) -> str:
    lang = words(page.language)
    body = Markup("").join(
        block.html
        if block.html is not None
        else _render_block(block, recipient.contact, recipient, page.images, lang, recipient.link)
        for block in page.blocks
    )
    logo_id = page.theme.get("logo_image_id")
    return _page_template().render(
        lang=page.language,
        title=page.name,
        description="",
        theme=_theme(page.theme),
        css=page.css,
        logo=page.images.get(int(logo_id)) if logo_id else None,
        body=body,
        scripts=page.scripts,
        nonce=nonce,
    )


def render_spin_result(page: CompiledPage, spin: SpinView) -> str:
    """The wheel's result fragment, as the page shows it after a spin."""
    return _ENV.get_template("_wheel_result.html").render(spin=spin, words=words(page.language))


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
    title, message = notice(kind, language)
    return _ENV.get_template("notice.html").render(lang=language, title=title, message=message)


def _render_block(
    block: CompiledBlock,
    contact: Mapping[str, Any],
    recipient: Recipient | None,
    images: Mapping[int, ImageInfo],
    lang: Mapping[str, Any],
    link: str = "",
) -> Markup:
    texts = {name: render_text(text, contact, link=link) for name, text in block.texts.items()}
    data_of: Callable[[BlockSettings, Recipient], dict[str, Any]] | None = block.kind.data
    data = data_of(block.settings, recipient) if data_of is not None and recipient else {}
    return Markup(
        block.template.render(
            s=block.settings, t=texts, d=data, images=images, words=lang, first=block.first
        )
    )


def _theme(theme: Mapping[str, Any]) -> dict[str, str]:
    out = {"primary": "#1d4ed8", "background": "#ffffff", "text": "#111827"}
    out.update({k: str(escape(v)) for k, v in theme.items() if k in out})
    return out


@cache
def _page_template() -> Template:
    return _ENV.get_template("page.html")


@cache
def _asset(name: str) -> str:
    return (STATIC / "blocks" / name).read_text(encoding="utf-8").strip()
