"""CSV exports of a campaign, streamed: a million rows never sit in memory at once.

Rows are read in keyset pages, each in a short read-only transaction (on SQLite a read
takes no write lock, so a long export never stalls the clicks). Every cell that a
spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage
return) is neutralized with a leading apostrophe, so an export cannot carry an attack
to the marketer's spreadsheet: a phone number reads '+33612345678.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, Select, func, select
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from richsms.db import read_session
from richsms.errors import NotFound
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from shortener.models import Click, Link

PAGE = 5_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

MESSAGE_COLUMNS = (
    "message_id",
    "contact_id",
    "phone",
    "state",
    "segments",
    "planned_at",
    "sent_at",
    "delivered_at",
    "error",
    "human_clicks",
    "first_click_at",
    "coupon",
    "redeemed_at",
)
CLICK_COLUMNS = ("click_id", "clicked_at", "link", "contact_id", "human", "user_agent", "referrer")


def neutralize(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _lines(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[neutralize(v) for v in row] for row in rows])
    return buffer.getvalue()


def _check(engine: Engine, campaign_id: int) -> None:
    with read_session(engine) as session:
        if session.get(Campaign, campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")


def campaign_messages_csv(*, engine: Engine, campaign_id: int) -> Iterator[str]:
    """The campaign's messages, one line each, with their clicks and coupon (call it
    before streaming: an unknown campaign raises NotFound at once)."""
    _check(engine, campaign_id)
    return _message_lines(engine, campaign_id)


def _keyset_pages(
    engine: Engine,
    query: Select[*tuple[Any, ...]],
    id_column: Any,
    to_rows: Callable[[Session, Sequence[Row[*tuple[Any, ...]]]], Sequence[Sequence[object]]],
) -> Iterator[str]:
    """`query`'s rows in `id_column` order (selected first), PAGE at a time, each page read
    and turned into CSV rows by `to_rows` in its own short read session, closed before the
    lines are yielded: a slow reader of the stream holds no transaction open."""
    after = 0
    while True:
        with read_session(engine) as session:
            page = session.execute(
                query.where(id_column > after).order_by(id_column).limit(PAGE)
            ).all()
            if not page:
                return
            rows = to_rows(session, page)
        yield _lines(rows)
        after = int(page[-1][0])


def _message_lines(engine: Engine, campaign_id: int) -> Iterator[str]:
    def with_clicks_and_coupons(
        session: Session, page: Sequence[Row[*tuple[Any, ...]]]
    ) -> list[list[Any]]:
        clicks = _clicks_by_link(session, [r[9] for r in page if r[9] is not None])
        coupons = _coupons_by_contact(
            session, campaign_id, [r[1] for r in page if r[1] is not None]
        )
        rows: list[list[Any]] = []
        for *message, link_id in page:
            count, first = clicks.get(link_id, (0, None))
            code, redeemed = coupons.get(message[1], (None, None))
            rows.append([*message, count, first, code, redeemed])
        return rows

    yield _lines([MESSAGE_COLUMNS])
    query = select(
        col(Message.id),
        col(Message.contact_id),
        col(Message.phone),
        col(Message.state),
        col(Message.segments),
        col(Message.planned_at),
        col(Message.sent_at),
        col(Message.delivered_at),
        col(Message.error),
        col(Message.link_id),
    ).where(col(Message.campaign_id) == campaign_id, col(Message.is_test).is_(False))
    yield from _keyset_pages(engine, query, col(Message.id), with_clicks_and_coupons)


def _clicks_by_link(session: Any, link_ids: list[int]) -> dict[int, tuple[int, Any]]:
    if not link_ids:
        return {}
    found = session.execute(
        select(col(Click.link_id), func.count(), func.min(col(Click.clicked_at)))
        .where(col(Click.link_id).in_(link_ids), col(Click.is_bot).is_(False))
        .group_by(col(Click.link_id))
    ).all()
    return {int(link): (int(n), first) for link, n, first in found}


def _coupons_by_contact(
    session: Any, campaign_id: int, contact_ids: list[int]
) -> dict[int, tuple[str, Any]]:
    if not contact_ids:
        return {}
    found = session.execute(
        select(col(Coupon.contact_id), col(Coupon.code), col(Coupon.redeemed_at)).where(
            col(Coupon.campaign_id) == campaign_id, col(Coupon.contact_id).in_(contact_ids)
        )
    ).all()
    return {int(contact): (code, redeemed) for contact, code, redeemed in found}


def campaign_clicks_csv(*, engine: Engine, campaign_id: int) -> Iterator[str]:
    """Every click on the campaign's links, bots included (flagged)."""
    _check(engine, campaign_id)
    return _click_lines(engine, campaign_id)


def _click_lines(engine: Engine, campaign_id: int) -> Iterator[str]:
    def flagged(_session: Session, page: Sequence[Row[*tuple[Any, ...]]]) -> list[list[Any]]:
        return [[*row[:4], bool(row[4]), *row[5:]] for row in page]

    yield _lines([CLICK_COLUMNS])
    query = (
        select(
            col(Click.id),
            col(Click.clicked_at),
            col(Link.code),
            col(Click.contact_id),
            ~col(Click.is_bot),
            col(Click.user_agent),
            col(Click.referrer),
        )
        .join(Link, col(Link.id) == col(Click.link_id))
        .where(col(Link.campaign_id) == campaign_id)
    )
    yield from _keyset_pages(engine, query, col(Click.id), flagged)
