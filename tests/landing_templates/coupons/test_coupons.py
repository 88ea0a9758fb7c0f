"""Coupons: patterns, one code per recipient, pools, set-based assignment, redemption once."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from landing_templates.coupons import (
    Coupon,
    CouponSlot,
    PoolExhausted,
    assign_coupon,
    assign_coupons_bulk,
    coupon_state,
    import_pool,
    pool_counts,
    redeem_coupon,
    validate_pattern,
)
from landing_templates.coupons import codes as coupon_codes
from landing_templates.coupons.codes import LETTERS
from landing_templates.coupons.svg import ean13_check_digit
from richsms.db import session_scope
from richsms.errors import Conflict, InvalidInput, NotFound
from tests.clock import FrozenClock


def generated(engine: Engine, clock: FrozenClock, contact_id: int, **kw: Any) -> str:
    with session_scope(engine) as session:
        args: dict[str, Any] = {
            "page_id": 1,
            "block_id": "coupon-1",
            "source": "generate",
            "pattern": "NOEL-######",
            "pool_id": None,
            **kw,
        }
        return assign_coupon(session=session, clock=clock, contact_id=contact_id, **args).code


def new_pool(engine: Engine, clock: FrozenClock, codes: list[str], name: str = "p") -> int:
    with session_scope(engine) as session:
        pool, report = import_pool(
            session=session, clock=clock, name=name, csv_bytes="\n".join(codes).encode()
        )
        assert report.imported == len(codes)
        assert pool.id is not None
        return pool.id


def from_pool(engine: Engine, clock: FrozenClock, pool_id: int, contact_id: int) -> str:
    with session_scope(engine) as session:
        return assign_coupon(
            session=session,
            clock=clock,
            page_id=1,
            block_id="coupon-1",
            contact_id=contact_id,
            source="pool",
            pattern=None,
            pool_id=pool_id,
        ).code


def count_coupons(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Coupon)).scalar_one())


def run_threads(count: int, target: Callable[[int], object]) -> list[object]:
    """`target(i)` in `count` threads released together; each result or exception."""
    results: list[object] = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# Patterns


def test_a_pattern_makes_codes_of_its_shape_without_look_alike_letters() -> None:
    digits = validate_pattern("NOEL-######")
    codes = set(digits.many(200))
    assert all(re.fullmatch(r"NOEL-\d{6}", c) for c in codes)
    assert len(codes) > 190  # random, not a sequence
    letters = validate_pattern("??????")
    drawn = "".join(letters.many(300))
    assert set(drawn) <= set(LETTERS)
    assert not set(drawn) & set("IOSZB")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("NOEL-###", "only 1,000 different codes"),
        ("ABCDEF", "only 1 different codes"),
        ("NOEL ######", "character 5 (' ') is not allowed"),
        ("", "pattern is required"),
        ("#" * 65, "at most 64 characters"),
    ],
)
def test_a_weak_or_malformed_pattern_is_refused_with_a_reason(pattern: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        validate_pattern(pattern)


# One coupon per recipient and block


def test_assignment_is_idempotent_per_page_block_and_contact(
    engine: Engine, clock: FrozenClock
) -> None:
    first = generated(engine, clock, 7)
    assert re.fullmatch(r"NOEL-\d{6}", first)
    assert generated(engine, clock, 7) == first
    assert generated(engine, clock, 7, block_id="coupon-2") != first
    assert generated(engine, clock, 8) != first
    assert count_coupons(engine) == 3


def test_a_code_already_taken_is_drawn_again(
    engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter([123456, 123456, 654321])
    monkeypatch.setattr(coupon_codes.secrets, "randbelow", lambda _n: next(draws))
    first = generated(engine, clock, 1, pattern="######")
    second = generated(engine, clock, 2, pattern="######")
    # the second recipient's first draw is the first's code: it draws again
    assert (first, second) == ("654321", "123456")
    assert count_coupons(engine) == 2


def test_concurrent_openings_of_one_page_give_one_coupon(
    engine: Engine, clock: FrozenClock
) -> None:
    results = run_threads(12, lambda _i: generated(engine, clock, 42))
    assert len(set(results)) == 1 and isinstance(results[0], str)
    assert count_coupons(engine) == 1


# Pools


def test_pool_import_reports_duplicates_and_bad_rows_with_row_numbers(
    engine: Engine, clock: FrozenClock
) -> None:
    new_pool(engine, clock, ["OLD-1"], name="earlier")
    csv_bytes = b"Store;Code\nParis;A-1\nLyon;A-2\n\nNice;A-1\nLille;OLD-1\nBrest;bad code\n"
    with session_scope(engine) as session:
        pool, report = import_pool(session=session, clock=clock, name="Xmas", csv_bytes=csv_bytes)
    assert report.imported == 2
    assert report.rows == 5
    assert [(row, reason) for row, reason in report.rejected] == [
        (5, "'A-1': duplicate of row 2"),
        (6, "'OLD-1': the code already exists"),
        (7, "'bad code': only letters, digits and - . _ ~ are allowed"),
    ]
    with Session(engine) as session:
        assert pool.id is not None
        counts = pool_counts(session=session, pool_id=pool.id)
    assert (counts.size, counts.assigned, counts.available) == (2, 0, 2)


@pytest.mark.parametrize(
    ("csv_bytes", "message"),
    [
        (b"", "holds no codes"),
        (b"\n\n", "holds no codes"),
        (b"store,shelf\nParis,1\n", "none is named `code`"),
        (b"code\n\xff\xfe\n", "not UTF-8"),
        (b"code\nA\x00B\n", "NUL"),
        (b'code\n"unclosed\n', "malformed"),
        (b"x y\n", "none of the file's codes can be imported"),
    ],
)
def test_malformed_pool_files_are_refused_clearly(
    engine: Engine, clock: FrozenClock, csv_bytes: bytes, message: str
) -> None:
    with session_scope(engine) as session, pytest.raises(InvalidInput, match=message):
        import_pool(session=session, clock=clock, name="p", csv_bytes=csv_bytes)


def test_a_pool_gives_each_code_once_then_runs_out(engine: Engine, clock: FrozenClock) -> None:
    pool_id = new_pool(engine, clock, ["P-1", "P-2", "P-3"])
    codes = [from_pool(engine, clock, pool_id, contact) for contact in (1, 2, 3)]
    assert sorted(codes) == ["P-1", "P-2", "P-3"]
    assert from_pool(engine, clock, pool_id, 2) == codes[1]  # a recipient keeps theirs
    with pytest.raises(PoolExhausted) as raised:
        from_pool(engine, clock, pool_id, 4)
    assert isinstance(raised.value, Conflict) and raised.value.code == "pool_exhausted"
    with Session(engine) as session:
        assert pool_counts(session=session, pool_id=pool_id).available == 0


def test_concurrent_draws_never_share_a_pool_code(engine: Engine, clock: FrozenClock) -> None:
    pool_id = new_pool(engine, clock, [f"C-{i}" for i in range(10)])
    results = run_threads(20, lambda i: from_pool(engine, clock, pool_id, 100 + i))
    codes = [r for r in results if isinstance(r, str)]
    assert sorted(codes) == sorted(f"C-{i}" for i in range(10))
    assert sum(isinstance(r, PoolExhausted) for r in results) == 10


def test_unknown_pool_and_unknown_source_are_clear_errors(
    engine: Engine, clock: FrozenClock
) -> None:
    with pytest.raises(NotFound, match="no coupon pool 99"):
        from_pool(engine, clock, 99, 1)
    with pytest.raises(InvalidInput, match="source must be one of"):
        generated(engine, clock, 1, source="magic")


# Set-based assignment for planning


def test_bulk_generation_is_unique_and_keeps_existing_coupons(
    engine: Engine, clock: FrozenClock
) -> None:
    kept = generated(engine, clock, 5)
    contacts = list(range(1, 2501))
    with session_scope(engine) as session:
        assigned = assign_coupons_bulk(
            session=session,
            clock=clock,
            slot=CouponSlot(1, "coupon-1", "generate", "NOEL-######", None, 3),
            contact_ids=[*contacts, 5, 6],
        )
    assert set(assigned) == set(contacts) and assigned.unserved == []
    assert assigned[5] == kept
    assert len(set(assigned.values())) == 2500
    assert count_coupons(engine) == 2500
    with Session(engine) as session:
        state = coupon_state(session=session, code=assigned[6])
    assert (state.contact_id, state.campaign_id, state.state) == (6, 3, "valid")


def test_bulk_from_a_small_pool_reports_who_got_nothing(
    engine: Engine, clock: FrozenClock
) -> None:
    pool_id = new_pool(engine, clock, [f"B-{i}" for i in range(5)])

    def plan() -> Any:
        with session_scope(engine) as session:
            return assign_coupons_bulk(
                session=session,
                clock=clock,
                slot=CouponSlot(1, "coupon-1", "pool", None, pool_id),
                contact_ids=range(1, 9),
            )

    first = plan()
    assert sorted(first.values()) == [f"B-{i}" for i in range(5)]
    assert sorted(first.unserved) == [6, 7, 8]
    again = plan()  # a planning job resumed after a crash changes nothing
    assert dict(again) == dict(first) and sorted(again.unserved) == [6, 7, 8]


def test_bulk_refuses_a_pattern_too_small_for_the_audience(
    engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session, pytest.raises(InvalidInput, match="too few"):
        assign_coupons_bulk(
            session=session,
            clock=clock,
            slot=CouponSlot(1, "b", "generate", "######", None),
            contact_ids=range(100_001),
        )


# Redemption


def test_a_coupon_is_redeemed_once(engine: Engine, clock: FrozenClock) -> None:
    code = generated(engine, clock, 1)
    with session_scope(engine) as session:
        coupon = redeem_coupon(session=session, clock=clock, code=code, by="Ana", location="Lyon")
    assert coupon.redeemed_at == clock.now() and coupon.redeemed_by == "Ana"
    with session_scope(engine) as session, pytest.raises(Conflict) as raised:
        redeem_coupon(session=session, clock=clock, code=code, by="Bob", location=None)
    assert raised.value.code == "already_redeemed" and "by Ana" in raised.value.message
    with Session(engine) as session:
        state = coupon_state(session=session, code=code)
    assert (state.state, state.redeemed_by, state.redeemed_location) == ("redeemed", "Ana", "Lyon")


def test_unknown_and_undrawn_codes_cannot_be_redeemed(engine: Engine, clock: FrozenClock) -> None:
    new_pool(engine, clock, ["FREE-1"])
    for code in ("NOPE-1", "FREE-1", "not a code/../x"):
        with session_scope(engine) as session, pytest.raises(NotFound):
            redeem_coupon(session=session, clock=clock, code=code, by=None, location=None)
        with Session(engine) as session, pytest.raises(NotFound):
            coupon_state(session=session, code=code)


def test_concurrent_redemptions_in_the_domain_succeed_once(
    engine: Engine, clock: FrozenClock
) -> None:
    code = generated(engine, clock, 1)

    def attempt(i: int) -> str:
        with session_scope(engine) as session:
            return redeem_coupon(
                session=session, clock=clock, code=code, by=f"till {i}", location=None
            ).code

    results = run_threads(20, attempt)
    assert sum(r == code for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 19


def test_an_ean13_scan_of_a_twelve_digit_code_finds_it(
    engine: Engine, clock: FrozenClock
) -> None:
    code = generated(engine, clock, 1, pattern="############")
    scanned = code + str(ean13_check_digit(code))
    with Session(engine) as session:
        assert coupon_state(session=session, code=scanned).code == code
    with session_scope(engine) as session:
        assert redeem_coupon(session=session, clock=clock, code=scanned, by=None,
                             location=None).code == code
    wrong = code + str((ean13_check_digit(code) + 1) % 10)
    with Session(engine) as session, pytest.raises(NotFound):
        coupon_state(session=session, code=wrong)


def test_overlapping_bulk_assignments_at_once_give_each_contact_one_coupon(
    engine: Engine, clock: FrozenClock
) -> None:
    def plan(i: int) -> Any:
        with session_scope(engine) as session:
            return assign_coupons_bulk(
                session=session,
                clock=clock,
                slot=CouponSlot(1, "coupon-1", "generate", "NOEL-########", None),
                contact_ids=range(1 + 700 * i, 1501 + 700 * i),
            )

    first, second = run_threads(2, plan)
    assert isinstance(first, dict) and isinstance(second, dict), (first, second)
    for contact in set(first) & set(second):
        assert first[contact] == second[contact]
    assert count_coupons(engine) == len(set(first) | set(second)) == 2200


def test_a_pool_file_past_the_limit_is_refused(
    engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landing_templates.coupons import pools as coupon_pools

    monkeypatch.setattr(coupon_pools, "MAX_POOL_CODES", 3)
    with session_scope(engine) as session, pytest.raises(InvalidInput, match="at most 3 codes"):
        import_pool(session=session, clock=clock, name="p", csv_bytes=b"A\nB\nC\nD\n")
    assert count_coupons(engine) == 0
