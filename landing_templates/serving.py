"""What every page view starts from: the compiled version (cached per process), and the
page's coupon blocks with how a code is shown.

What a view reads is `view_state`'s, what it writes `view_writes`'; rendering happens
after the caller commits (never under SQLite's write lock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from landing_templates.blocks.base import CouponSpec, CouponView
from landing_templates.blocks.coupon import CouponSettings
from landing_templates.blocks.scratch import ScratchSettings
from landing_templates.images import ImageInfo
from landing_templates.models import (
    PUBLISHED,
    Page,
    PageImage,
    PageImageRendition,
    PageVersion,
)
from landing_templates.render import CompiledPage, compile_page
from richsms.db import get_or_not_found
from richsms.errors import NotFound


class CompiledPages:
    """Compiled published versions by (page, version): frozen, so never stale. Drafts
    (previews) are compiled on each request."""

    def __init__(self, max_entries: int = 512) -> None:
        self._entries: dict[tuple[int, int], CompiledPage] = {}
        self._max = max_entries

    def get(self, key: tuple[int, int]) -> CompiledPage | None:
        return self._entries.get(key)

    def put(self, page: CompiledPage) -> None:
        if len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))
        self._entries[(page.page_id, page.version)] = page


class MissingCoupons(Exception):
    """The recipient has coupons still to assign: the view needs a write transaction."""


@dataclass(frozen=True, slots=True)
class PageView:
    compiled: CompiledPage
    published: bool  # False: the page was unpublished, links answer a notice


def open_version(
    *, session: Session, cache: CompiledPages, page_id: int, version: int | None
) -> PageView:
    """The page's `version` (None: the newest, draft or not) compiled, and its status."""
    page = get_or_not_found(session, Page, page_id, f"no page with id {page_id}")
    published = page.status == PUBLISHED
    if version is not None:
        cached = cache.get((page_id, version))
        if cached is not None:
            return PageView(cached, published)
    query = select(PageVersion).where(col(PageVersion.page_id) == page_id)
    query = (
        query.where(col(PageVersion.version) == version)
        if version is not None
        else query.order_by(col(PageVersion.version).desc()).limit(1)
    )
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"page {page_id} has no version {version}")
    compiled = compile_page(
        page_id=page_id,
        version=row.version,
        name=page.name,
        language=page.language,
        theme=row.theme,
        blocks=row.blocks,
        images=_images(session, row.blocks, row.theme),
    )
    if row.published_at is not None:
        cache.put(compiled)
    return PageView(compiled, published)


def _images(
    session: Session, blocks: list[dict[str, Any]], theme: Mapping[str, Any]
) -> dict[int, ImageInfo]:
    ids = {int(b["image_id"]) for b in blocks if b.get("type") == "image"}
    if theme.get("logo_image_id"):
        ids.add(int(theme["logo_image_id"]))
    if not ids:
        return {}
    widths: dict[int, list[int]] = {}
    for image_id, width in session.exec(
        select(PageImageRendition.image_id, PageImageRendition.width)
        .where(col(PageImageRendition.image_id).in_(ids))
        .order_by(col(PageImageRendition.width))
    ):
        widths.setdefault(image_id, []).append(width)
    return {
        image.id: ImageInfo(image.id, image.width, image.height, tuple(widths.get(image.id, ())))
        for image in session.exec(select(PageImage).where(col(PageImage.id).in_(ids)))
        if image.id is not None and widths.get(image.id)
    }


def coupon_blocks(page: CompiledPage) -> list[tuple[str, CouponSpec]]:
    """(block id, coupon settings) of every block showing the recipient a coupon on sight."""
    found: list[tuple[str, CouponSpec]] = []
    for block in page.blocks:
        settings = block.settings
        if isinstance(settings, CouponSettings):
            found.append((settings.id, settings))
        elif isinstance(settings, ScratchSettings) and settings.coupon is not None:
            found.append((settings.id, settings.coupon))
    return found


def coupon_view(
    code: str, spec: CouponSpec, *, base_url: str, redeemed: bool = False
) -> CouponView:
    """The code with its symbols: a barcode carries the bare code for checkout scanners,
    a QR the staff redemption address for a staff phone's camera."""
    qr_data = f"{base_url}r/{code}" if "qr" in spec.symbols else ""
    return CouponView(code, spec.symbols, redeemed, qr_data)


def sample_code(spec: CouponSpec) -> str:
    """What a preview shows instead of assigning a real code."""
    if "ean13" in spec.symbols:
        return "400638133393"
    if spec.source == "pool" or not spec.pattern:
        return "SAMPLE-0000"
    digits = iter("1234567890" * 7)
    return "".join(
        next(digits) if c == "#" else "A" if c == "?" else c for c in spec.pattern
    )
