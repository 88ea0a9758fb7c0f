"""What a page view needs from the database, gathered in one short unit of work: the
compiled version (cached per process), the recipient's coupons and wheel outcomes.

Rendering happens after the caller commits (never under SQLite's write lock).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from landing_templates.blocks.base import CouponSpec, CouponView, Recipient, SpinView
from landing_templates.blocks.coupon import CouponSettings
from landing_templates.blocks.scratch import ScratchSettings
from landing_templates.blocks.wheel import WheelSettings
from landing_templates.coupons import Coupon, assign_coupon
from landing_templates.models import (
    PUBLISHED,
    Page,
    PageImage,
    PageImageRendition,
    PageVersion,
    WheelSpin,
)
from landing_templates.render import CompiledPage, ImageInfo, compile_page
from richsms.clock import Clock
from richsms.errors import InvalidInput, NotFound

_random = secrets.SystemRandom()


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
    page = session.get(Page, page_id)
    if page is None:
        raise NotFound(f"no page with id {page_id}")
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


def coupon_view(code: str, symbology: str, *, base_url: str, redeemed: bool = False) -> CouponView:
    """The code with its symbol: a barcode carries the bare code for checkout scanners,
    a QR the staff redemption address for a staff phone's camera."""
    qr_data = f"{base_url}r/{code}" if symbology == "qr" else ""
    return CouponView(code, symbology, redeemed, qr_data)


def sample_code(spec: CouponSpec) -> str:
    """What a preview shows instead of assigning a real code."""
    if spec.symbology == "ean13":
        return "400638133393"
    if spec.source == "pool" or not spec.pattern:
        return "SAMPLE-0000"
    digits = iter("1234567890" * 7)
    return "".join(
        next(digits) if c == "#" else "A" if c == "?" else c for c in spec.pattern
    )


def recipient_for(
    *,
    session: Session,
    clock: Clock,
    page: CompiledPage,
    contact: Mapping[str, Any],
    contact_id: int | None,
    campaign_id: int | None,
    token: str | None,
    base_url: str,
    link: str = "",
    preview: bool = False,
    assign: bool = True,
) -> Recipient:
    """Everything personal for one view. A preview assigns nothing and shows sample codes;
    a real view gets (or keeps) the recipient's coupons."""
    coupons: dict[str, CouponView] = {}
    spins: dict[str, SpinView] = {}
    wanted = coupon_blocks(page)
    held: dict[str, Coupon] = {}
    if wanted and contact_id is not None and not preview:
        # One read for the usual case: the recipient already holds every coupon.
        held = {
            str(c.block_id): c
            for c in session.exec(
                select(Coupon).where(
                    col(Coupon.page_id) == page.page_id, col(Coupon.contact_id) == contact_id
                )
            )
        }
        if not assign and any(block_id not in held for block_id, _spec in wanted):
            raise MissingCoupons()
    for block_id, spec in wanted:
        if block_id in held:
            coupon = held[block_id]
            coupons[block_id] = coupon_view(
                coupon.code,
                spec.symbology,
                base_url=base_url,
                redeemed=coupon.redeemed_at is not None,
            )
        elif preview:
            coupons[block_id] = coupon_view(sample_code(spec), spec.symbology, base_url=base_url)
        elif contact_id is not None:
            coupon = assign_coupon(
                session=session,
                clock=clock,
                page_id=page.page_id,
                block_id=block_id,
                contact_id=contact_id,
                source=spec.source,
                pattern=spec.pattern,
                pool_id=spec.pool_id,
                campaign_id=campaign_id,
            )
            coupons[block_id] = coupon_view(
                coupon.code,
                spec.symbology,
                base_url=base_url,
                redeemed=coupon.redeemed_at is not None,
            )
    wheels = {b.settings.id: b.settings for b in page.blocks_of("wheel")}
    if wheels and contact_id is not None and not preview:
        for spin in session.exec(
            select(WheelSpin).where(
                col(WheelSpin.page_id) == page.page_id,
                col(WheelSpin.contact_id) == contact_id,
                col(WheelSpin.block_id).in_(list(wheels)),
            )
        ):
            settings = wheels[spin.block_id]
            assert isinstance(settings, WheelSettings)
            spins[spin.block_id] = _spin_view(session, spin, settings, base_url)
    return Recipient(
        contact=contact,
        now=clock.now(),
        link=link,
        token=None if preview else token,
        coupons=coupons,
        spins=spins,
    )


def spin_wheel(
    *,
    session: Session,
    clock: Clock,
    page: CompiledPage,
    block_id: str,
    contact_id: int,
    campaign_id: int | None,
    base_url: str,
) -> SpinView:
    """The recipient's wheel outcome: drawn by weight at the first spin, then the same."""
    block = next((b for b in page.blocks_of("wheel") if b.settings.id == block_id), None)
    if block is None:
        raise NotFound(f"no wheel {block_id!r} on this page")
    settings = block.settings
    assert isinstance(settings, WheelSettings)
    existing = _spin_of(session, page.page_id, block_id, contact_id)
    if existing is None:
        weights = [p.weight for p in settings.prizes]
        index = _random.choices(range(len(weights)), weights=weights)[0]
        prize = settings.prizes[index]
        code = None
        if prize.coupon:
            spec = settings.coupon_settings
            assert spec is not None
            code = assign_coupon(
                session=session,
                clock=clock,
                page_id=page.page_id,
                block_id=block_id,
                contact_id=contact_id,
                source=spec.source,
                pattern=spec.pattern,
                pool_id=spec.pool_id,
                campaign_id=campaign_id,
            ).code
        try:
            with session.begin_nested():
                existing = WheelSpin(
                    page_id=page.page_id,
                    block_id=block_id,
                    contact_id=contact_id,
                    prize_index=index,
                    label=prize.label,
                    coupon_code=code,
                    spun_at=clock.now(),
                )
                session.add(existing)
                session.flush()
        except IntegrityError:  # the same recipient spun on another device meanwhile
            existing = _spin_of(session, page.page_id, block_id, contact_id)
            if existing is None:
                raise InvalidInput("the wheel could not be spun; try again") from None
    return _spin_view(session, existing, settings, base_url)


def _spin_of(session: Session, page_id: int, block_id: str, contact_id: int) -> WheelSpin | None:
    return session.exec(
        select(WheelSpin).where(
            col(WheelSpin.page_id) == page_id,
            col(WheelSpin.block_id) == block_id,
            col(WheelSpin.contact_id) == contact_id,
        )
    ).first()


def _spin_view(
    session: Session, spin: WheelSpin, settings: WheelSettings, base_url: str
) -> SpinView:
    coupon = None
    if spin.coupon_code and settings.coupon_settings is not None:
        row = session.exec(select(Coupon).where(col(Coupon.code) == spin.coupon_code)).first()
        coupon = coupon_view(
            spin.coupon_code,
            settings.coupon_settings.symbology,
            base_url=base_url,
            redeemed=row is not None and row.redeemed_at is not None,
        )
    index = min(spin.prize_index, len(settings.prizes) - 1)
    return SpinView(index, spin.label, coupon)
