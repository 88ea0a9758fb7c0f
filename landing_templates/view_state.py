"""What a page view reads, in one query: the page's status, the contact's merge fields and
the coupons the recipient already holds on it (plus one for what they did when the page
has a wheel or a scratch card: the wheel's outcome, the cards revealed).

This is the read of nearly every view: the recipient's coupons were assigned at planning
or on their first view (`view_writes.assigned_view_state`, which then reads through this
same query in its write transaction), and a view only needs to know them and whether they
were redeemed since. `build_recipient` is the one builder of what a page shows its
recipient, views and previews alike. `CoreReader` reads through SQLAlchemy
(any database, any thread); `SqliteReader` is the same query on one plain sqlite3
connection of its own, for the event loop's thread: a pooled SQLAlchemy connection costs
more than the indexed read itself.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    and_,
    bindparam,
    literal_column,
    null,
    select,
    union_all,
)
from sqlmodel import col

from landing_templates.blocks.base import CouponView, Recipient, SpinView
from landing_templates.blocks.wheel import WheelSettings
from landing_templates.coupons.models import Coupon
from landing_templates.models import PUBLISHED, Page, WheelSpin
from landing_templates.page_events import SCRATCH_REVEALED, PageEvent
from landing_templates.render import CompiledPage
from landing_templates.serving import MissingCoupons, coupon_blocks, coupon_view, sample_code
from richsms.merge.contact import CONTACT_SOURCE as Contact
from richsms.merge.contact import contact_fields

_STATE = (
    select(
        col(Page.status),
        Contact.c.id,
        Contact.c.first_name,
        Contact.c.last_name,
        Contact.c.phone,
        Contact.c.email,
        Contact.c.language,
        Contact.c.timezones,
        Contact.c.fields,
        col(Coupon.block_id),
        col(Coupon.code),
        col(Coupon.redeemed_at),
    )
    .select_from(Page)
    .outerjoin(Contact, Contact.c.id == bindparam("contact_id"))
    # (page, block, contact) is the coupon table's unique index: one probe per block.
    .outerjoin(
        Coupon,
        and_(
            col(Coupon.page_id) == col(Page.id),
            col(Coupon.block_id).in_(bindparam("blocks", expanding=True)),
            col(Coupon.contact_id) == bindparam("contact_id"),
        ),
    )
    .where(col(Page.id) == bindparam("page_id"))
)

# What the recipient did that the page keeps showing: their wheels' outcomes, and (rows
# with no prize) the scratch cards they revealed. One probe per block on each unique index.
_DONE: CompoundSelect[Any] = union_all(
    select(
        col(WheelSpin.block_id), col(WheelSpin.prize_index), col(WheelSpin.label),
        col(WheelSpin.coupon_code),
    ).where(
        col(WheelSpin.page_id) == bindparam("page_id"),
        col(WheelSpin.block_id).in_(bindparam("blocks", expanding=True)),
        col(WheelSpin.contact_id) == bindparam("contact_id"),
    ),
    select(
        col(PageEvent.block_id), null().label("prize_index"), null().label("label"),
        null().label("coupon_code"),
    ).where(
        col(PageEvent.page_id) == bindparam("page_id"),
        col(PageEvent.block_id).in_(bindparam("blocks", expanding=True)),
        col(PageEvent.contact_id) == bindparam("contact_id"),
        col(PageEvent.kind) == literal_column(f"'{SCRATCH_REVEALED}'"),  # a constant
    ),
)


class StateRow(NamedTuple):
    status: str
    id: int | None
    first_name: str
    last_name: str
    phone: str
    email: str
    language: str
    timezones: str
    fields: Any  # a dict, or its JSON text from a plain sqlite3 connection
    block_id: str | None
    code: str | None
    redeemed_at: Any


class SpinRow(NamedTuple):
    """A wheel's outcome; with no prize index, a revealed scratch card."""

    block_id: str
    prize_index: int | None
    label: str | None
    coupon_code: str | None


class StateReader(Protocol):
    def state(self, page_id: int, contact_id: int | None, blocks: list[str]) -> list[Any]: ...
    def done(self, page_id: int, contact_id: int, blocks: list[str]) -> list[Any]: ...


class CoreReader:
    """The reads through a SQLAlchemy connection (SQLite or PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def state(self, page_id: int, contact_id: int | None, blocks: list[str]) -> list[Any]:
        params = {"page_id": page_id, "contact_id": contact_id, "blocks": blocks}
        return list(self._conn.execute(_STATE, params).all())

    def done(self, page_id: int, contact_id: int, blocks: list[str]) -> list[Any]:
        params = {"page_id": page_id, "contact_id": contact_id, "blocks": blocks}
        return list(self._conn.execute(_DONE, params).all())


@cache
def _sqlite_sql(statement: Any, count: int) -> str:
    """`statement` as SQLite text with the block list spelled out as `count` parameters."""
    from sqlalchemy.dialects import sqlite

    blocks = [f"b{n}" for n in range(count)]
    compiled = statement.params(page_id=0, contact_id=0, blocks=blocks).compile(
        dialect=sqlite.dialect(paramstyle="named"), compile_kwargs={"render_postcompile": True}
    )
    sql = str(compiled)
    # render_postcompile spells the expanding list as :blocks_1, :blocks_2, ...
    for n, name in reversed(list(enumerate(blocks, start=1))):
        sql = sql.replace(f":blocks_{n}", f":{name}")
    return sql


class SqliteReader:
    """The reads on a plain sqlite3 connection (autocommit: each statement is its own
    consistent snapshot, and no transaction is held between views). For one thread at a
    time; a lock makes sure of it."""

    def __init__(self, path: str) -> None:
        # WAL readers never wait for the writer; should the file be busy anyway (a WAL
        # being recovered), give up at once: the caller then reads from a worker thread.
        self._conn = sqlite3.connect(path, timeout=0.01, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA query_only=ON")
        self._lock = threading.Lock()

    @classmethod
    def for_engine(cls, engine: Engine) -> SqliteReader | None:
        """A reader for a file database; None for anything else (memory, PostgreSQL)."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        if url.database.startswith("file:") or url.query:
            return None
        return cls(url.database)

    def close(self) -> None:
        self._conn.close()

    def _rows(self, statement: Any, page_id: int, contact_id: int | None,
              blocks: Sequence[str]) -> list[Any]:
        params: dict[str, Any] = {f"b{n}": block for n, block in enumerate(blocks)}
        params["page_id"], params["contact_id"] = page_id, contact_id
        sql = _sqlite_sql(statement, len(blocks))
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def state(self, page_id: int, contact_id: int | None, blocks: list[str]) -> list[Any]:
        return [StateRow(*row) for row in self._rows(_STATE, page_id, contact_id, blocks)]

    def done(self, page_id: int, contact_id: int, blocks: list[str]) -> list[Any]:
        return [SpinRow(*row) for row in self._rows(_DONE, page_id, contact_id, blocks)]


@dataclass(frozen=True, slots=True)
class ViewState:
    published: bool
    language: str | None  # the contact's, when there is a contact
    recipient: Recipient | None  # None when the page is not published


def read_view_state(
    reader: StateReader,
    *,
    page: CompiledPage,
    contact_id: int | None,
    token: str | None,
    base_url: str,
    now: datetime,
    link: str = "",
) -> ViewState | None:
    """The view's state, None when the page does not exist. Raises MissingCoupons when
    the recipient has a coupon still to be assigned (the view then needs to write)."""
    wanted = coupon_blocks(page)
    wheels = {b.settings.id: b.settings for b in page.blocks_of("wheel")}
    rows = reader.state(
        page.page_id, contact_id, [block_id for block_id, _spec in wanted] + list(wheels)
    )
    if not rows:
        return None
    first = rows[0]
    if first.status != PUBLISHED:
        return ViewState(False, None, None)
    known = first.id is not None  # a link whose contact was deleted shows no coupon
    held = {
        row.block_id: (row.code, row.redeemed_at is not None) for row in rows if row.code and known
    }
    fields: Mapping[str, Any] = {}
    spins: Sequence[Any] = ()
    revealed: frozenset[str] = frozenset()
    cards = [b.settings.id for b in page.blocks_of("scratch")]
    if known:
        if isinstance(first.fields, str):
            first = first._replace(fields=json.loads(first.fields))
        fields = contact_fields(first)
        if any(block_id not in held for block_id, _spec in wanted):
            raise MissingCoupons()
        if (wheels or cards) and contact_id is not None:
            done = reader.done(page.page_id, contact_id, [*wheels, *cards])
            spins = [row for row in done if row.prize_index is not None]
            revealed = frozenset(row.block_id for row in done if row.prize_index is None)
    holds = Holdings(fields, held, spins, revealed)
    recipient = build_recipient(
        page=page, holds=holds, token=token, base_url=base_url, now=now, link=link
    )
    return ViewState(True, first.language if known else None, recipient)


@dataclass(frozen=True, slots=True)
class Holdings:
    """What the database holds for a page's recipient: their contact's fields, their
    coupons by block (code, redeemed), their wheel outcomes (`SpinRow`s) and the scratch
    cards they revealed. A preview holds only a contact."""

    contact: Mapping[str, Any]
    held: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    spins: Sequence[Any] = ()
    revealed: frozenset[str] = frozenset()


def build_recipient(
    *,
    page: CompiledPage,
    holds: Holdings,
    token: str | None,
    base_url: str,
    now: datetime,
    link: str = "",
    preview: bool = False,
) -> Recipient:
    """The one builder of a page's recipient, for views (from `read_view_state`) and
    previews alike, from what the recipient `holds`. A preview shows sample codes and
    posts nothing."""
    held = holds.held
    coupons: dict[str, CouponView] = {}
    for block_id, spec in coupon_blocks(page):
        if block_id in held:
            code, redeemed = held[block_id]
            coupons[block_id] = coupon_view(code, spec, base_url=base_url, redeemed=redeemed)
        elif preview:
            coupons[block_id] = coupon_view(sample_code(spec), spec, base_url=base_url)
    wheels = {b.settings.id: b.settings for b in page.blocks_of("wheel")}
    views: dict[str, SpinView] = {}
    for spin in holds.spins:
        settings = wheels[spin.block_id]
        assert isinstance(settings, WheelSettings)
        views[spin.block_id] = spin_view(spin, settings, held.get(spin.block_id), base_url)
    return Recipient(
        contact=holds.contact,
        now=now,
        link=link,
        token=None if preview else token,
        coupons=coupons,
        spins=views,
        revealed=holds.revealed,
    )


def spin_view(
    spin: Any, settings: WheelSettings, held: tuple[str, bool] | None, base_url: str
) -> SpinView:
    """A wheel outcome (a `SpinRow` or a `WheelSpin`) as the page shows it; `held` is the
    recipient's coupon on the wheel's block (code, redeemed), if any."""
    index = min(spin.prize_index, len(settings.prizes) - 1)
    spec = settings.prize_coupon(index) or settings.coupon_settings
    coupon: CouponView | None = None
    if spin.coupon_code and spec is not None:
        coupon = coupon_view(
            spin.coupon_code,
            spec,
            base_url=base_url,
            redeemed=held is not None and held == (spin.coupon_code, True),
        )
    return SpinView(index, spin.label, coupon, settings.prizes[index].text)
