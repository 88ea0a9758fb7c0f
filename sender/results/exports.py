"""CSV exports of a campaign, streamed: a million rows never sit in memory at once.

Rows are read in keyset pages, each in a short read-only transaction (on SQLite a read
takes no write lock, so a long export never stalls the clicks). Every cell that a
spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage
return) is neutralized with a leading apostrophe, so an export cannot carry an attack
to the marketer's spreadsheet: a phone number reads '+33612345678.

Two formats: the plain CSV (`,`, UTF-8, machine column names, ISO times in UTC) that
programs read, and "Excel (France)" (`EXCEL_FR`: `;`, UTF-8 with a byte-order mark so
French Excel reads the accents, French column names, states, yes/no and dates in the
account's time zone, and the contact's names) that a French marketer opens with a double
click.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Row, Select, func, select
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from richsms import i18n
from richsms.db import read_session
from richsms.errors import NotFound
from richsms.i18n import N_
from sender.audience.models import Contact
from sender.campaigns.models import Campaign
from sender.delivery.models import Message
from shortener.click_days import ClickDay
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
NAME_COLUMNS = ("first_name", "last_name")  # after contact_id, in the Excel (France) format
# Each column as a person reads it (the Excel (France) format's header, in French).
HEADERS = {
    "message_id": N_("Message no."),
    "contact_id": N_("Contact no."),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "phone": N_("Phone"),
    "state": N_("Message state"),
    "segments": N_("Segments"),
    "planned_at": N_("Planned at"),
    "sent_at": N_("Sent at"),
    "delivered_at": N_("Delivered at"),
    "error": N_("Error"),
    "human_clicks": N_("Clicks"),
    "first_click_at": N_("First click at"),
    "coupon": N_("Coupon"),
    "redeemed_at": N_("Redeemed at"),
    "click_id": N_("Click no."),
    "clicked_at": N_("Clicked at"),
    "link": N_("Short link"),
    "human": N_("By a person"),
    "user_agent": N_("Browser"),
    "referrer": N_("Referrer"),
}


@dataclass(frozen=True)
class CsvFormat:
    """How an export writes its cells: `language` None is the plain, machine CSV."""

    delimiter: str = ","
    bom: bool = False
    language: str | None = None
    zone: str = "UTC"

    @property
    def for_people(self) -> bool:
        return self.language is not None


PLAIN = CsvFormat()


def excel_france(zone: str) -> CsvFormat:
    """The format French Excel opens as it is: `;`, a BOM, French, the account's zone."""
    return CsvFormat(delimiter=";", bom=True, language="fr", zone=zone)


def neutralize(value: object, fmt: CsvFormat = PLAIN) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if fmt.language is not None:
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(ZoneInfo(fmt.zone)).strftime("%d/%m/%Y %H:%M:%S")
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        if fmt.language is not None:
            return i18n.gettext(fmt.language, "yes" if value else "no")
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _lines(rows: Sequence[Sequence[object]], fmt: CsvFormat = PLAIN) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=fmt.delimiter, lineterminator="\r\n")
    writer.writerows([[neutralize(v, fmt) for v in row] for row in rows])
    return buffer.getvalue()


def _header(columns: Sequence[str], fmt: CsvFormat) -> str:
    if fmt.language is None:
        return _lines([columns])
    names = [i18n.gettext(fmt.language, HEADERS[c]) for c in columns]
    return ("\ufeff" if fmt.bom else "") + _lines([names], fmt)


def _check(engine: Engine, campaign_id: int) -> None:
    with read_session(engine) as session:
        if session.get(Campaign, campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")


def campaign_messages_csv(
    *, engine: Engine, campaign_id: int, fmt: CsvFormat = PLAIN
) -> Iterator[str]:
    """The campaign's messages, one line each, with their clicks and coupon (call it
    before streaming: an unknown campaign raises NotFound at once); for people (`fmt`),
    with the contact's names and the state in their language."""
    _check(engine, campaign_id)
    return _message_lines(engine, campaign_id, fmt)


def _keyset_pages(
    engine: Engine,
    query: Select[*tuple[Any, ...]],
    id_column: Any,
    to_rows: Callable[[Session, Sequence[Row[*tuple[Any, ...]]]], Sequence[Sequence[object]]],
    fmt: CsvFormat,
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
        yield _lines(rows, fmt)
        after = int(page[-1][0])


def _message_lines(engine: Engine, campaign_id: int, fmt: CsvFormat) -> Iterator[str]:
    def with_clicks_and_coupons(
        session: Session, page: Sequence[Row[*tuple[Any, ...]]]
    ) -> list[list[Any]]:
        clicks = _clicks_by_link(session, [r[9] for r in page if r[9] is not None])
        coupons = _coupons_by_contact(
            session, campaign_id, [r[1] for r in page if r[1] is not None]
        )
        names = _names(session, [r[1] for r in page]) if fmt.for_people else {}
        rows: list[list[Any]] = []
        for *message, link_id in page:
            count, first = clicks.get(link_id, (0, None))
            code, redeemed = coupons.get(message[1], (None, None))
            if fmt.language is not None:
                state = i18n.translations(fmt.language).pgettext("message state", message[3])
                message = [*message[:2], *names.get(message[1], ("", "")), *message[2:3],
                           state, *message[4:]]  # fmt: skip
            rows.append([*message, count, first, code, redeemed])
        return rows

    columns: tuple[str, ...] = MESSAGE_COLUMNS
    if fmt.for_people:
        columns = (*MESSAGE_COLUMNS[:2], *NAME_COLUMNS, *MESSAGE_COLUMNS[2:])
    yield _header(columns, fmt)
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
    yield from _keyset_pages(engine, query, col(Message.id), with_clicks_and_coupons, fmt)


def _names(session: Session, contact_ids: list[int | None]) -> dict[int, tuple[str, str]]:
    wanted = sorted({c for c in contact_ids if c is not None})
    if not wanted:
        return {}
    found = session.execute(
        select(col(Contact.id), col(Contact.first_name), col(Contact.last_name)).where(
            col(Contact.id).in_(wanted)
        )
    ).all()
    return {int(contact): (first, last) for contact, first, last in found}


def _clicks_by_link(session: Any, link_ids: list[int]) -> dict[int, tuple[int, Any]]:
    if not link_ids:
        return {}
    found = session.execute(
        select(col(Click.link_id), func.count(), func.min(col(Click.clicked_at)))
        .where(col(Click.link_id).in_(link_ids), col(Click.is_bot).is_(False))
        .group_by(col(Click.link_id))
    ).all()
    # And the days folded out of the log (sender/results/retention.py), added.
    folded = session.execute(
        select(
            col(ClickDay.link_id),
            func.sum(col(ClickDay.human_clicks)),
            func.min(col(ClickDay.first_human_at)),
        )
        .where(col(ClickDay.link_id).in_(link_ids), col(ClickDay.human_clicks) > 0)
        .group_by(col(ClickDay.link_id))
    ).all()
    clicks: dict[int, tuple[int, Any]] = {}
    for link, n, first in [*found, *folded]:
        count, earliest = clicks.get(int(link), (0, None))
        clicks[int(link)] = (count + int(n), first if earliest is None else min(earliest, first))
    return clicks


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


def campaign_clicks_csv(
    *, engine: Engine, campaign_id: int, fmt: CsvFormat = PLAIN
) -> Iterator[str]:
    """Every click on the campaign's links, bots included (flagged); for people (`fmt`),
    with the contact's names."""
    _check(engine, campaign_id)
    return _click_lines(engine, campaign_id, fmt)


def _click_lines(engine: Engine, campaign_id: int, fmt: CsvFormat) -> Iterator[str]:
    def flagged(session: Session, page: Sequence[Row[*tuple[Any, ...]]]) -> list[list[Any]]:
        if not fmt.for_people:
            return [[*row[:4], bool(row[4]), *row[5:]] for row in page]
        names = _names(session, [row[3] for row in page])
        return [
            [*row[:4], *names.get(row[3], ("", "")), bool(row[4]), *row[5:]] for row in page
        ]

    columns: tuple[str, ...] = CLICK_COLUMNS
    if fmt.for_people:
        columns = (*CLICK_COLUMNS[:4], *NAME_COLUMNS, *CLICK_COLUMNS[4:])
    yield _header(columns, fmt)
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
    yield from _keyset_pages(engine, query, col(Click.id), flagged, fmt)
