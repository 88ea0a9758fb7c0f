"""One reader and one builder for what a page shows its recipient: the event loop's plain
sqlite3 reader (the fast path), the SQLAlchemy reader, and a first view's write path
(assign, then read in its transaction) give the same state for the same inputs."""

from __future__ import annotations

from sqlalchemy import Engine

from landing_templates.coupons import redeem_coupon
from landing_templates.page_events import SCRATCH_REVEALED, NewPageEvent, record_page_event
from landing_templates.pages import create_page, publish_page
from landing_templates.render import CompiledPage
from landing_templates.serving import CompiledPages, open_version
from landing_templates.view_state import CoreReader, SqliteReader, ViewState, read_view_state
from landing_templates.view_writes import assigned_view_state, spin_wheel
from richsms.db import session_scope
from shortener.resolver import Target
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import add_contact, rich_blocks

BASE = "https://pages.example/"


def published(engine: Engine, clock: FrozenClock) -> CompiledPage:
    with session_scope(engine) as session:
        blocks = rich_blocks(clock.now())
        page = create_page(session=session, clock=clock, name="Sale", language="en", blocks=blocks)
        assert page.page.id is not None
        publish_page(session=session, clock=clock, page_id=page.page.id)
        return open_version(
            session=session, cache=CompiledPages(), page_id=page.page.id, version=1
        ).compiled


def page_link(page: CompiledPage, contact: int | None) -> Target:
    """A live page link to `page` for `contact`, with no campaign, at token "tok"."""
    return Target(link_id=1, contact_id=contact, url=BASE, expires_at=None, disabled=False,
                  page_id=page.page_id, page_version=1, page_token="tok")


def first_view(
    engine: Engine, clock: FrozenClock, page: CompiledPage, contact: int | None
) -> ViewState:
    """The state through the write path (assigning what is missing, then reading)."""
    with session_scope(engine) as session:
        state = assigned_view_state(
            session=session,
            clock=clock,
            page=page,
            link=page_link(page, contact),
            base_url=BASE,
        )
    assert state is not None
    return state


def every_reader(
    engine: Engine, clock: FrozenClock, page: CompiledPage, contact: int | None
) -> list[ViewState | None]:
    """The state read by each reader this database has, then by the write path."""
    def read(reader: CoreReader | SqliteReader) -> ViewState | None:
        return read_view_state(
            reader, page=page, contact_id=contact, token="tok", base_url=BASE, now=clock.now()
        )

    states = []
    inline = SqliteReader.for_engine(engine)
    assert (inline is not None) == (engine.dialect.name == "sqlite")  # the fast path is held
    if inline is not None:
        try:
            states.append(read(inline))
        finally:
            inline.close()
    with engine.connect() as conn:
        states.append(read(CoreReader(conn)))
    states.append(first_view(engine, clock, page, contact))
    return states


def test_the_fast_reader_the_core_reader_and_the_first_view_agree(
    engine: Engine, clock: FrozenClock
) -> None:
    page = published(engine, clock)
    ada = add_contact(engine, clock, first_name="Ada", phone="+33600000001", city="Lyon")
    assigned = first_view(engine, clock, page, ada)
    assert assigned.recipient is not None
    assert sorted(assigned.recipient.coupons) == ["cp", "qr", "sc"]
    assert assigned.recipient.contact["city"] == "Lyon"
    # A spin with a coupon, then that coupon and another redeemed: what each reader shows.
    with session_scope(engine) as session:
        for _ in range(30):  # each spin is drawn once per recipient: move to new ones
            spin = spin_wheel(
                session=session, clock=clock, page=page, block_id="wh",
                link=page_link(page, ada), base_url=BASE,
            )
            if spin.coupon is not None:
                break
            session.rollback()
        assert spin.coupon is not None
        for code in (spin.coupon.code, assigned.recipient.coupons["cp"].code):
            redeem_coupon(session=session, clock=clock, code=code, by=None, location=None)
        revealed = NewPageEvent(page.page_id, "sc", ada, SCRATCH_REVEALED)
        record_page_event(session=session, clock=clock, event=revealed)
    states = every_reader(engine, clock, page, ada)
    assert all(state == states[0] for state in states)
    recipient = states[0].recipient if states[0] is not None else None
    assert recipient is not None
    assert recipient.spins["wh"].coupon is not None and recipient.spins["wh"].coupon.redeemed
    assert recipient.coupons["cp"].redeemed and not recipient.coupons["qr"].redeemed
    assert recipient.revealed == {"sc"}  # the card stays scratched
    # Nobody (a bot's view) and a contact that does not exist: nothing personal, alike.
    for nobody in (None, 999):
        states = every_reader(engine, clock, page, nobody)
        assert all(state == states[0] for state in states)
        assert states[0] is not None and states[0].recipient is not None
        assert not states[0].recipient.coupons and not states[0].recipient.spins
        assert not states[0].recipient.revealed


def test_what_the_first_view_shows_is_what_every_later_view_reads(
    engine: Engine, clock: FrozenClock
) -> None:
    page = published(engine, clock)
    ada = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    first = first_view(engine, clock, page, ada)
    assert all(state == first for state in every_reader(engine, clock, page, ada))


def test_each_wheel_slice_wins_its_own_coupon_or_says_its_own_text(
    engine: Engine, clock: FrozenClock
) -> None:
    """A slice's own coupon settings (pattern, symbols) or the wheel's; a losing slice's
    text instead of "You won: {label}"; one coupon block shows its code as both symbols."""
    from landing_templates.render import render_spin_result

    slices = [
        {"label": "-20 %", "weight": 1, "coupon": {"source": "generate", "pattern": "VINGT-######",
                                                   "symbology": ["qr", "code128"]}},
        {"label": "Café", "weight": 1, "coupon": True},
        {"label": "Perdu", "weight": 1, "text": "Pas de chance !"},
    ]
    blocks = [{"id": "cp", "type": "coupon", "source": "generate", "pattern": "NOEL-######",
               "symbology": "both"}]
    pages = []
    with session_scope(engine) as session:
        for n in range(3):  # one page per slice that certainly wins
            weighted = [s | {"weight": 1_000_000 if i == n else 0.000001}
                        for i, s in enumerate(slices)]
            page = create_page(
                session=session, clock=clock, name=f"Roue {n}", language="fr",
                blocks=[*blocks, {"id": "wh", "type": "wheel", "prizes": weighted,
                                  "coupon": {"source": "generate", "pattern": "CAFE-######"}}],
            )
            assert page.page.id is not None
            publish_page(session=session, clock=clock, page_id=page.page.id)
            pages.append(open_version(session=session, cache=CompiledPages(),
                                      page_id=page.page.id, version=1).compiled)
    ada = add_contact(engine, clock, first_name="Ada", phone="+33600000001")
    with session_scope(engine) as session:
        spins = [spin_wheel(session=session, clock=clock, page=page, block_id="wh",
                            link=page_link(page, ada), base_url=BASE) for page in pages]
    own, default, lost = spins
    assert own.coupon is not None and own.coupon.code.startswith("VINGT-")
    assert own.coupon.symbols == ("code128", "qr")
    assert own.coupon.qr_data == f"{BASE}r/{own.coupon.code}"
    assert default.coupon is not None and default.coupon.code.startswith("CAFE-")
    assert default.coupon.symbols == ("code128",)
    assert lost.coupon is None and lost.text == "Pas de chance !"
    result = render_spin_result(pages[2], lost)
    assert "Pas de chance !" in result and "gagné" not in result
    assert "Vous avez gagné" in render_spin_result(pages[0], own)
    state = first_view(engine, clock, pages[0], ada)
    assert state.recipient is not None
    coupon = state.recipient.coupons["cp"]
    assert coupon.symbols == ("code128", "qr")
    assert [symbol for symbol, _svg in coupon.svgs] == ["code128", "qr"]
    assert all(coupon.code in svg for _symbol, svg in coupon.svgs)
