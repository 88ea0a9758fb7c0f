"""Importing a pool of coupon codes from a CSV file: one code per line, or a `code` column.

Rows that cannot be codes, and codes seen earlier in the file or already known, are
reported with their row number; every other code is imported, in set-based batches.

The file is read and checked before anything is written; then the pool's row and each
batch of codes are committed one short transaction at a time, the pool hidden (no
`filled_at`) until its last code is in: nobody sees or draws from a half-filled pool. An
import that fails part-way removes what it stored. One whose process dies midway leaves a
hidden pool behind: once its import has stored nothing for ABANDONED_AFTER, the chores
remove it (`discard_abandoned`), and so does the next import, so that the same file sent
again imports whole.
"""

from __future__ import annotations

import csv
import io
import logging
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from landing_templates.coupons.codes import check_code
from landing_templates.coupons.models import Coupon, CouponPool
from richsms import processes
from richsms.bare_many import BareMany
from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput
from richsms.row_sets import RowSet
from richsms.types import UTCDateTime

log = logging.getLogger("richsms.coupons")

MAX_POOL_CODES = 1_000_000
NAME_MAX = 200
BATCH = 5000  # codes looked up per query
WRITE_BATCH = 2000  # codes stored per transaction
# An import stores a batch every fraction of a second: silent this long, it is dead.
ABANDONED_AFTER = timedelta(minutes=2)
_T = Coupon.__table__  # type: ignore[attr-defined]
_INSERT = BareMany.insert(_T, ("code", "pool_id", "created_at"))
# The same on PostgreSQL as one statement per batch: executemany binds and runs each row
# (2,000 codes: ~230 ms of a transaction on a slow machine, over the write budget).
_CODE_ROWS = RowSet(code=String())
_INSERT_SET = insert(_T).from_select(
    ["code", "pool_id", "created_at"],
    select(
        _CODE_ROWS.c.code,
        bindparam("pool", type_=Integer()),
        bindparam("at", type_=UTCDateTime()),
    ),
)


@dataclass
class PoolImportReport:
    imported: int = 0
    rows: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "rows": self.rows,
            "rejected": [{"row": row, "reason": reason} for row, reason in self.rejected],
        }


def _text(csv_bytes: bytes) -> str:
    if b"\x00" in csv_bytes:
        raise InvalidInput("the file is not a text CSV (it contains NUL bytes)")
    try:
        return csv_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start})") from None


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank record; `;` or `,` separated."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells
    except csv.Error as exc:
        raise InvalidInput(f"row {reader.line_num}: the CSV is malformed ({exc})") from None


def _codes(text: str) -> Iterator[tuple[int, str]]:
    """(row, raw code) for every data row, the header (if any) understood and skipped."""
    rows = _rows(text)
    first = next(rows, None)
    if first is None:
        return
    header = [cell.strip().lower() for cell in first[1]]
    if "code" in header:
        column = header.index("code")
    else:
        if sum(1 for cell in header if cell) > 1:
            raise InvalidInput(
                "the file has several columns and none is named `code`: give one code per "
                "line, or a header row with a `code` column"
            )
        column = next(i for i, cell in enumerate(header) if cell)
        yield first[0], first[1][column].strip()
    for row, cells in rows:
        yield row, cells[column].strip() if column < len(cells) else ""


def import_pool(
    *, session: Session, clock: Clock, name: str, csv_bytes: bytes
) -> tuple[CouponPool, PoolImportReport]:
    """A new pool holding the file's valid, new codes, and the report of the rest,
    committed on `session` batch by batch (see the module's docstring): it must hold
    nothing uncommitted."""
    name = name.strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise InvalidInput(f"a pool needs a name of 1 to {NAME_MAX} printable characters")
    checked = processes.run(processes.PARSE, check_pool_file, csv_bytes, MAX_POOL_CODES)
    report = PoolImportReport(rows=checked.rows, rejected=checked.rejected)
    # An import that died midway (its process killed) left a hidden pool holding part of
    # these codes, perhaps: removed first, the file imports whole.
    discard_abandoned(session=session, now=clock.now())
    first_row: dict[str, int] = {}
    for codes_text, numbers in checked.chunks:
        codes = codes_text.split("\n")
        known = set(session.execute(select(_T.c.code).where(_T.c.code.in_(codes))).scalars())
        for code, row in zip(codes, array("q", numbers), strict=True):
            if code in known:
                report.rejected.append((row, f"{code!r}: the code already exists"))
            else:
                first_row[code] = row
    report.rejected.sort()
    if not first_row:
        raise InvalidInput(
            "none of the file's codes can be imported: "
            + "; ".join(f"row {row}: {reason}" for row, reason in report.rejected[:5])
        )
    now = clock.now()
    pool = CouponPool(name=name, created_at=now, import_seen_at=now)  # not shown until filled
    session.add(pool)
    session.commit()
    assert pool.id is not None
    codes = list(first_row)
    dialect, pool_id = session.get_bind().dialect, pool.id
    try:
        for start in range(0, len(codes), WRITE_BATCH):
            batch = codes[start : start + WRITE_BATCH]
            if dialect.name == "postgresql":  # one statement (richsms/row_sets.py)
                session.execute(
                    _INSERT_SET,
                    {**_CODE_ROWS.params([{"code": c} for c in batch]), "pool": pool_id, "at": now},
                )
            else:
                rows = _INSERT.bind(
                    dialect, [{"code": c, "pool_id": pool_id, "created_at": now} for c in batch]
                )
                _INSERT.execute_bound(session.connection(), rows)
            session.execute(  # still alive: see `discard_abandoned`
                update(CouponPool)
                .where(col(CouponPool.id) == pool_id)
                .values(import_seen_at=clock.now())
            )
            session.commit()
    except IntegrityError:
        session.rollback()
        _discard(session, pool_id)
        raise Conflict(
            "some of these codes were imported by another request at the same time; "
            "send the file again to import the rest"
        ) from None
    except BaseException:
        session.rollback()
        _discard(session, pool_id)
        raise
    pool.filled_at = clock.now()
    session.add(pool)
    session.commit()  # shown from now on
    report.imported = len(codes)
    return pool, report


@dataclass(frozen=True)
class CheckedFile:
    """A pool's file read and checked: its rows, the rows rejected, and the valid codes
    seen first, BATCH at a time (the codes joined by line breaks, their rows as an
    `array("q")`'s bytes): compact to send back from a worker process."""

    rows: int
    rejected: list[tuple[int, str]]
    chunks: list[tuple[str, bytes]]


def check_pool_file(csv_bytes: bytes, limit: int = MAX_POOL_CODES) -> CheckedFile:
    """Every code of the file checked, at most `limit` of them, no database involved
    (run in a worker process: `richsms.processes`)."""
    rows = 0
    rejected: list[tuple[int, str]] = []
    first_row: dict[str, int] = {}
    for row, code in _codes(_text(csv_bytes)):
        rows += 1
        if rows > limit:
            raise InvalidInput(f"a pool holds at most {limit:,} codes; split the file")
        problem = check_code(code)
        if problem is None and code in first_row:
            problem = f"duplicate of row {first_row[code]}"
        if problem is not None:
            rejected.append((row, f"{code[:80]!r}: {problem}" if code else problem))
            continue
        first_row[code] = row
    if not rows:
        raise InvalidInput("the file holds no codes")
    codes = list(first_row)
    chunks = [
        (
            "\n".join(codes[start : start + BATCH]),
            array("q", [first_row[c] for c in codes[start : start + BATCH]]).tobytes(),
        )
        for start in range(0, len(codes), BATCH)
    ]
    return CheckedFile(rows, rejected, chunks)


def discard_abandoned(*, session: Session, now: datetime) -> int:
    """Pools whose import stopped storing codes ABANDONED_AFTER ago without filling them
    (its process died midway), removed with their codes: nobody ever saw them, and their
    codes would otherwise be refused as known when the file is sent again. Commits;
    returns how many pools."""
    seen = func.coalesce(col(CouponPool.import_seen_at), col(CouponPool.created_at))
    abandoned = session.execute(
        select(col(CouponPool.id)).where(
            col(CouponPool.filled_at).is_(None), seen < now - ABANDONED_AFTER
        )
    ).scalars().all()
    session.commit()  # the read's transaction ends before the batches of deletes
    for pool_id in abandoned:
        log.warning("removing coupon pool %s: its import stopped midway", pool_id)
        _discard(session, pool_id)
    return len(abandoned)


def _discard(session: Session, pool_id: int) -> None:
    """The codes an import stored before it failed, and its pool (never shown), removed
    WRITE_BATCH at a time."""
    while True:
        ids = session.execute(
            select(_T.c.id).where(_T.c.pool_id == pool_id).limit(WRITE_BATCH)
        ).scalars().all()
        if ids:
            session.execute(delete(_T).where(_T.c.id.in_(ids)))
        else:
            session.execute(delete(CouponPool).where(col(CouponPool.id) == pool_id))
        session.commit()
        if not ids:
            return


def listed_pools(*, session: Session, limit: int) -> list[CouponPool]:
    """The pools one can choose, oldest first: those whose import is over."""
    query = (
        select(CouponPool)
        .where(col(CouponPool.filled_at).is_not(None))
        .order_by(col(CouponPool.id))
        .limit(limit)
    )
    return list(session.execute(query).scalars())
