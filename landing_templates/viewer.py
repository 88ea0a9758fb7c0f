"""Recipients' pages as the domain sees them: which version, whose page, which coupons,
rendered to precompressed pieces (`landing_templates.pieces`). `web.recipients.pages` is the HTTP
edge that calls it for `GET /{code}` and the /p/ routes.

A view of a compiled (published, hence frozen) version whose recipient already holds
their coupons only reads one row set (`view_state`): on SQLite the edge runs that read
right on the event loop through `read_state` (a local indexed read costs less than the hop
to a worker thread), on PostgreSQL (a network round trip) in a worker thread through
`view`. Rendering the recipient's personal blocks always runs in one of the viewer's own
`renders` threads (never on the event loop, never in the pool the redirects use), within
one budget for the whole page (`render_seconds`): a page that passes it for a sample
contact is refused at publish (`check_publishable`). A first view that assigns coupons,
or one that compiles the version, runs in those threads too. A heavy version (one render
over HEAVY_SECONDS of CPU: a page published before the check, say) is rendered by a
worker process from then on (`richsms.processes`), that thread only waiting for it.
"""

from __future__ import annotations

import logging
import secrets
import time
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from landing_templates.blocks.base import Recipient
from landing_templates.blocks.wheel import WheelSettings, landing_angle
from landing_templates.links import link_by_token
from landing_templates.merge import PageBudget
from landing_templates.page_events import WHEEL_SPUN, record_link_event
from landing_templates.pieces import Piece, compressed, raw_body
from landing_templates.render import (
    FRAGMENTS,
    CompiledBlock,
    CompiledPage,
    FragmentCache,
    check_render_time,
    compile_page,
    preload_templates,
    render_card,
    render_notice,
    render_page,
    render_pieces,
    render_spin_result,
)
from landing_templates.serving import (
    CompiledPages,
    MissingCoupons,
    coupon_blocks,
    open_version,
)
from landing_templates.view_state import (
    CoreReader,
    Holdings,
    SqliteReader,
    StateReader,
    ViewState,
    build_recipient,
    read_view_state,
)
from landing_templates.view_writes import assign_coupons, assigned_view_state, spin_wheel
from richsms import processes
from richsms.clock import Clock
from richsms.db import READ_ONLY, read_session, session_scope
from richsms.errors import Conflict, NotFound
from richsms.merge.contact import CONTACT_SOURCE, contact_fields
from shortener.models import Link
from shortener.resolver import Target, read_target

log = logging.getLogger("richsms.pages")

# How long one view's whole render may take (RICHSMS_PAGE_RENDER_SECONDS), and the threads
# that render views: a few, so that views queue behind each other rather than behind the
# redirects' own reads.
RENDER_SECONDS = 0.5
RENDER_THREADS = 4
# A page version whose render takes more CPU than this (a view of nested loops within the
# budget) is rendered in a worker process (`richsms.processes`) from then on: in this
# process, even in a thread, it would take the interpreter's lock from the event loop that
# answers the short links. The light pages, nearly all, render here (no process hop).
HEAVY_SECONDS = 0.010
# Whom a page is rendered for when checked at publish: every standard field filled in.
SAMPLE_CONTACT = {
    "first_name": "Camille",
    "last_name": "Martin",
    "phone": "+33612345678",
    "email": "camille.martin@example.com",
    "timezone": "Europe/Paris",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A view's answer: its status, its body as pieces, the nonce its scripts carry."""

    status: int
    pieces: tuple[Piece, ...] | list[Piece]
    nonce: str | None = None
    language: str = "en"

    @property
    def html(self) -> str:
        return raw_body(self.pieces).decode()


@cache
def _notice(kind: str, language: str) -> tuple[Piece, ...]:
    return (compressed(render_notice(kind, language)),)


def _notice_view(status: int, kind: str, language: str) -> Rendered:
    return Rendered(status, _notice(kind, language), None, language)


class PageViewer:
    """Views, previews and spins of recipients' pages, with the caches they share."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        base_url: str,
        render_seconds: float = RENDER_SECONDS,
    ) -> None:
        self._engine = engine
        self.render_seconds = render_seconds
        self.renders = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="page-render")
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self._inline: SqliteReader | None = None  # opened at the first view
        self._inline_checked = False
        self._clock = clock
        self._base_url = base_url
        self.cache = CompiledPages()
        self.fragments = FragmentCache(FRAGMENTS)
        self._cards: dict[tuple[int, int], tuple[Piece, ...]] = {}
        self.heavy: set[tuple[int, int]] = set()
        """Page versions whose render took over HEAVY_SECONDS of CPU: rendered in a worker
        process from then on."""

    def inline_reader(self) -> SqliteReader | None:
        """The event loop's own SQLite reader (None for PostgreSQL), opened at first use."""
        return self._inline if self._inline_checked else self.open_inline()

    def open_inline(self) -> SqliteReader | None:
        self._inline_checked = True
        self._inline = SqliteReader.for_engine(self._engine)
        if self._inline is not None:
            weakref.finalize(self, self._inline.close)
        return self._inline

    def close(self) -> None:
        self.renders.shutdown(wait=False, cancel_futures=True)
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    def warm(self, limit: int = 100) -> int:
        """Ready this process for the first views (run at start, in a worker thread): the
        newest published versions compiled, the block templates and the barcode and QR
        libraries loaded, the view's read prepared. Returns how many versions compiled."""
        from landing_templates.coupons.svg import barcode_svg, qr_svg
        from landing_templates.models import PageVersion

        barcode_svg("WARM-UP", "code128")
        qr_svg(f"{self._base_url}r/WARM-UP")
        preload_templates()
        compiled: list[CompiledPage] = []
        with read_session(self._engine) as session:
            rows = session.exec(
                select(PageVersion.page_id, PageVersion.version)
                .where(col(PageVersion.published_at).is_not(None))
                .order_by(col(PageVersion.published_at).desc())
                .limit(limit)
            ).all()
            for page_id, version in rows:
                try:
                    compiled.append(
                        open_version(
                            session=session, cache=self.cache, page_id=page_id, version=version
                        ).compiled
                    )
                except NotFound:
                    continue
        inline = self.inline_reader()
        for page in compiled[:1]:  # SQL compiled and prepared once for each reader
            if inline is not None:
                self.answer(page, self.read_state(inline, page, None, None, bot=False), False)
            with self._reader.connect() as conn:
                self.read_state(CoreReader(conn), page, None, None, bot=False)
        with_coupons = next((page for page in compiled if coupon_blocks(page)), None)
        if with_coupons is not None:
            self._rehearse_assignment(with_coupons)
        return len(compiled)

    def _rehearse_assignment(self, page: CompiledPage) -> None:
        """Assign a page's coupons to nobody and roll back: SQLAlchemy compiles the
        assignment's statements now rather than during a recipient's first view."""
        with Session(self._engine) as session:
            try:
                assign_coupons(
                    session=session,
                    clock=self._clock,
                    page=page,
                    contact_id=-1,  # no contact has it; nothing is kept anyway
                    campaign_id=None,
                )
            except Exception:  # a pool run dry, say: the first real view will tell
                log.debug("rehearsing a coupon assignment failed", exc_info=True)
            finally:
                session.rollback()

    # --- the work --------------------------------------------------------------------------
    def view(self, link: Target, *, bot: bool, assign: bool = False) -> Rendered:
        """The page of a live page link, however it was opened (`/{code}` or `/p/{token}`):
        its recipient, its token and the campaign its coupons count for all come from the
        link. `assign`: the caller read it already and found coupons to assign."""
        page_id, version, contact_id = link.page_id, link.page_version, link.contact_id
        assert page_id is not None
        compiled = self.cache.get((page_id, version)) if version is not None else None
        if compiled is None:
            with read_session(self._engine) as session:
                try:
                    compiled = open_version(
                        session=session, cache=self.cache, page_id=page_id, version=version
                    ).compiled
                except NotFound:
                    return _notice_view(404, "not_found", "en")
        if not assign:
            try:
                with self._reader.connect() as conn:
                    state = self.read_state(
                        CoreReader(conn), compiled, contact_id, link.page_token, bot
                    )
                return self.answer(compiled, state, bot)
            except MissingCoupons:  # the recipient has coupons to be assigned
                pass
        # The recipient's first view: their coupons are assigned (and kept) first.
        with session_scope(self._engine) as session:
            state = assigned_view_state(
                session=session, clock=self._clock, page=compiled, link=link,
                base_url=self._base_url,
            )
        return self.answer(compiled, state, bot=False)

    def read_state(
        self,
        reader: StateReader,
        compiled: CompiledPage,
        contact_id: int | None,
        token: str | None,
        bot: bool,
    ) -> ViewState | None:
        """What the view shows (None: no such recipient); MissingCoupons when the recipient
        has coupons to be assigned first."""
        return read_view_state(
            reader,
            page=compiled,
            contact_id=None if bot else contact_id,  # a bot's view is never personal
            token=token,
            base_url=self._base_url,
            now=self._clock.now(),
        )

    @staticmethod
    def renders_per_view(compiled: CompiledPage, state: ViewState | None, bot: bool) -> bool:
        """Whether `answer` renders anything for this recipient (else it only assembles
        pieces compiled once: cheap enough for the event loop)."""
        if bot or state is None or not state.published or state.recipient is None:
            return False
        return any(isinstance(item, CompiledBlock) for item in compiled.layout)

    def answer(self, compiled: CompiledPage, state: ViewState | None, bot: bool) -> Rendered:
        if state is None:
            return _notice_view(404, "not_found", "en")
        if not state.published or state.recipient is None:
            return _notice_view(410, "unpublished", compiled.language)
        if bot:
            return Rendered(200, self._card(compiled), None, compiled.language)
        return self._render(compiled, state.recipient)

    def _card(self, compiled: CompiledPage) -> tuple[Piece, ...]:
        key = (compiled.page_id, compiled.version)
        card = self._cards.get(key)
        if card is None:
            if len(self._cards) > 1024:
                self._cards.clear()
            card = (compressed(render_card(compiled, base_url=self._base_url)),)
            self._cards[key] = card
        return card

    def preview(self, *, session: Session, page_id: int, contact_id: int | None) -> str:
        """The newest version as `contact_id` would see it; nothing recorded or assigned."""
        page = open_version(session=session, cache=self.cache, page_id=page_id, version=None)
        fields: dict[str, Any] = {}
        if contact_id is not None:
            contact = _contact(session, contact_id)
            if contact is None:
                raise NotFound(f"no contact with id {contact_id}")
            fields = contact_fields(contact)
        recipient = build_recipient(
            page=page.compiled,
            holds=Holdings(fields),
            token=None,
            base_url=self._base_url,
            now=self._clock.now(),
            preview=True,
        )
        return render_page(
            page.compiled,
            recipient,
            nonce=secrets.token_urlsafe(16),
            budget=PageBudget(self.render_seconds),
        )

    def check_publishable(self, *, session: Session, page_id: int) -> None:
        """The newest version rendered for a sample contact as a view would be; InvalidInput
        naming the block at which its render passes `render_seconds` (run before publishing,
        outside the write)."""
        page = open_version(session=session, cache=self.cache, page_id=page_id, version=None)
        compiled = page.compiled
        recipient = build_recipient(
            page=compiled,
            holds=Holdings({**SAMPLE_CONTACT, "language": compiled.language}),
            token=None,
            base_url=self._base_url,
            now=self._clock.now(),
            link=f"{self._base_url}SAMPLE",
            preview=True,
        )
        check_render_time(compiled, recipient, seconds=self.render_seconds)

    def _render(self, compiled: CompiledPage, recipient: Recipient) -> Rendered:
        nonce = secrets.token_urlsafe(16)
        key = (compiled.page_id, compiled.version)
        if key in self.heavy:
            pieces = processes.run(
                processes.RENDER, render_elsewhere, compiled.source,
                replace(recipient, contact=dict(recipient.contact)), nonce, self.render_seconds,
            )  # fmt: skip
            return Rendered(200, pieces, nonce, compiled.language)
        started = time.thread_time()
        pieces = render_pieces(
            compiled,
            recipient,
            nonce=nonce,
            fragments=self.fragments,
            budget=PageBudget(self.render_seconds),
        )
        if time.thread_time() - started > HEAVY_SECONDS:
            self.heavy.add(key)
        return Rendered(200, pieces, nonce, compiled.language)

    def by_token(self, token: str, *, bot: bool) -> Rendered:
        with self._reader.connect() as conn:
            link = read_target(conn, col(Link.page_token) == token)
        if link is None or link.page_id is None:
            return _notice_view(404, "not_found", "en")
        if link.gone(self._clock.now()):
            return _notice_view(410, "expired", self._language(link.page_id, link.contact_id))
        return self.view(link, bot=bot)

    def _language(self, page_id: int, contact_id: int | None) -> str:
        with read_session(self._engine) as session:
            if contact_id is not None:
                contact = _contact(session, contact_id)
                if contact is not None and contact.language in ("fr", "en"):
                    return str(contact.language)
            try:
                return open_version(
                    session=session, cache=self.cache, page_id=page_id, version=None
                ).compiled.language
            except NotFound:
                return "en"

    def spin(self, token: str, block_id: str) -> dict[str, Any]:
        with session_scope(self._engine) as session:
            link = link_by_token(session=session, token=token)
            if link.gone(self._clock.now()):
                raise Conflict("this link has expired")
            if link.contact_id is None:
                raise Conflict("this page is not personal: there is no wheel to spin")
            assert link.page_id is not None
            page = open_version(
                session=session, cache=self.cache, page_id=link.page_id, version=link.page_version
            )
            if not page.published:
                raise Conflict("this page is no longer available")
            spin = spin_wheel(
                session=session,
                clock=self._clock,
                page=page.compiled,
                block_id=block_id,
                link=link,
                base_url=self._base_url,
            )
            record_link_event(
                session=session, clock=self._clock, link=link, block_id=block_id, kind=WHEEL_SPUN
            )
        settings = next(
            b.settings for b in page.compiled.blocks_of("wheel") if b.settings.id == block_id
        )
        assert isinstance(settings, WheelSettings)
        return {
            "prize_index": spin.prize_index,
            "label": spin.label,
            "coupon": spin.coupon.code if spin.coupon else None,
            "angle": landing_angle(settings, spin.prize_index),
            "html": render_spin_result(page.compiled, spin),
        }


def _contact(session: Session, contact_id: int) -> Any:
    """The contact's merge-field columns (a Core row), or None."""
    query = sa_select(CONTACT_SOURCE).where(CONTACT_SOURCE.c.id == contact_id)
    return session.execute(query).first()


# --- in a worker process (`richsms.processes.RENDER`) ----------------------------------------
_compiled: dict[tuple[int, int], CompiledPage] = {}
_fragments = FragmentCache(FRAGMENTS // 4)


def render_elsewhere(
    source: Mapping[str, Any], recipient: Recipient, nonce: str, seconds: float
) -> list[Piece]:
    """A heavy page's personal pieces, rendered within the page's budget in a worker
    process; the page compiled from its `source` once per process."""
    key = (int(source["page_id"]), int(source["version"]))
    page = _compiled.get(key)
    # Compared, not trusted: the process outlives a database (the tests' many, each with
    # its page 1, version 1), and a stale page would render another page's blocks.
    if page is None or page.source != source:
        if len(_compiled) >= 64:
            _compiled.clear()
        page = _compiled[key] = compile_page(**source)
    return render_pieces(
        page, recipient, nonce=nonce, fragments=_fragments, budget=PageBudget(seconds)
    )
