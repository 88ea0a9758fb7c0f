from __future__ import annotations

from shortener.codes import ALPHABET, RANDOM_LENGTH, RESERVED, CodeMaker, looks_like_code


def test_codes_are_unique_short_and_free_of_look_alikes() -> None:
    maker = CodeMaker("secret")
    codes = [maker.make(i) for i in range(1, 20_001)]
    assert len(set(codes)) == len(codes)
    assert max(len(c) for c in codes) <= 4 + RANDOM_LENGTH
    assert len(maker.make(1_000_000)) <= 5 + RANDOM_LENGTH  # a campaign of a million
    assert not set("".join(codes)) & set("0Oo1lI")
    assert all(looks_like_code(c) and c.lower() not in RESERVED for c in codes)


def test_the_same_id_never_gets_the_same_code_twice() -> None:
    maker = CodeMaker("secret")
    assert len({maker.make(42) for _ in range(200)}) == 200


def test_neighbouring_codes_share_no_random_part() -> None:
    maker = CodeMaker("secret")
    a, b = maker.make(1000), maker.make(1001)
    assert a[-RANDOM_LENGTH:] != b[-RANDOM_LENGTH:]


def test_random_part_space_makes_a_guess_worse_than_one_in_a_billion() -> None:
    assert len(ALPHABET) ** RANDOM_LENGTH > 10**9
    assert len(set(ALPHABET)) == len(ALPHABET) == 56


def test_the_salt_changes_every_code() -> None:
    assert CodeMaker("a").make(7)[:-RANDOM_LENGTH] != CodeMaker("b").make(7)[:-RANDOM_LENGTH]


def test_codes_made_by_the_batch_are_hashids_with_a_random_part_like_make() -> None:
    maker = CodeMaker("secret")
    ids = [*range(0, 300), *range(10_000, 10_300), 999_999, 10**9, 2**40]
    batch = maker.make_many(ids)
    for link_id, code in zip(ids, batch, strict=True):
        assert code[:-RANDOM_LENGTH] == maker.make(link_id)[:-RANDOM_LENGTH]
    assert len(set(batch)) == len(batch)
    randoms = [c[-RANDOM_LENGTH:] for c in batch]
    assert len(set(randoms)) == len(randoms)  # a repeat has odds of about 1 in 10^5
    assert set("".join(randoms)) <= set(ALPHABET)
    assert all(looks_like_code(c) and c.lower() not in RESERVED for c in batch)
