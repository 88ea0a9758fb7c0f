"""SMS parts on the SMPP wire: splitting, GSM-7 bytes, packing, receipts' ids."""

from __future__ import annotations

import codecs

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
from hypothesis import given
from hypothesis import strategies as st

from sender.compose.encoding import GSM_BASIC, GSM_EXTENSION, analyze
from sender.delivery.providers.smpp_ids import SETTLED, IdBook
from sender.delivery.providers.smpp_parts import (
    gsm7_septets,
    gsm7_text,
    pack_septets,
    source_address,
    split_parts,
    unpack_septets,
    wire_parts,
)
from sender.delivery.providers.smpp_receipts import is_receipt, parse_receipt

GSM_TEXT = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=600)


@given(GSM_TEXT)
def test_gsm7_bytes_are_those_of_the_reference_codec(text: str) -> None:
    assert gsm7_septets(text) == codecs.encode(text, "gsm03.38")
    assert gsm7_text(gsm7_septets(text)) == text


@given(GSM_TEXT)
def test_packing_round_trips(text: str) -> None:
    septets = gsm7_septets(text)
    assert unpack_septets(pack_septets(septets, 1), len(septets), 1) == septets


@given(GSM_TEXT)
def test_gsm_parts_rejoin_fit_and_match_the_analysis(text: str) -> None:
    parts = split_parts(text, "GSM-7")
    assert "".join(parts) == text
    if len(parts) > 1:
        assert all(len(gsm7_septets(p)) <= 153 for p in parts)
        assert len(parts) >= analyze(text).segments


def test_an_escape_pair_is_never_split() -> None:
    text = "x" * 152 + "€" + "y" * 10
    first, second = split_parts(text, "GSM-7")
    assert first == "x" * 152 and second.startswith("€")


def test_a_surrogate_pair_is_never_split() -> None:
    text = "я" * 66 + "😀" + "я" * 10
    first, second = split_parts(text, "UCS-2")
    assert first == "я" * 66 and second.startswith("😀")


def test_a_long_message_carries_a_udh_with_one_reference() -> None:
    parts = wire_parts("a" * 200, "GSM-7", reference=300)
    assert [p.short_message[:6] for p in parts] == [
        bytes((5, 0, 3, 300 % 256, 2, 1)),
        bytes((5, 0, 3, 300 % 256, 2, 2)),
    ]
    assert {(p.esm_class, p.data_coding) for p in parts} == {(0x40, 0)}
    packed = wire_parts("a" * 200, "GSM-7", reference=1, gsm7_packed=True)
    assert len(packed[0].short_message) == 140  # a full segment: 6 octets of UDH + 153 septets
    assert wire_parts("日本", "GSM-7", reference=1)[0].data_coding == 8  # not GSM: UCS-2


def test_source_addresses_by_sender_kind() -> None:
    def ton_npi(sender: str, kind: str) -> tuple[int, int]:
        address = source_address(sender, kind)
        return address.ton, address.npi

    assert ton_npi("+33612345678", "long_code") == (1, 1)
    assert source_address("+33612345678", "long_code").addr == "33612345678"
    assert ton_npi("36180", "short_code") == (3, 0)
    assert ton_npi("Boutique", "alphanumeric") == (5, 0)
    assert ton_npi("Boutique", "") == (5, 0)
    assert ton_npi("36180", "") == (3, 0)


def test_receipts_are_read_from_text_or_tlvs() -> None:
    assert is_receipt(0x04) and not is_receipt(0x00) and not is_receipt(0x40)
    text = (
        b"id:4101 sub:001 dlvrd:000 submit date:2612011200 done date:2612011201 "
        b"stat:UNDELIV err:034"
    )
    receipt = parse_receipt(text, {})
    assert receipt is not None
    assert (receipt.provider_id, receipt.state, receipt.error) == (
        "4101", "undelivered", "UNDELIV err:034"
    )
    for stat, state in [("DELIVRD", "delivered"), ("EXPIRED", "expired"), ("REJECTD", "rejected"),
                        ("DELETED", "undelivered"), ("UNKNOWN", "unknown")]:
        parsed = parse_receipt(f"id:1 stat:{stat} err:000".encode(), {})
        assert parsed is not None and parsed.state == state
    from_tlv = parse_receipt(b"", {0x001E: b"ab12\x00", 0x0427: bytes([2])})
    assert from_tlv is not None and (from_tlv.provider_id, from_tlv.state) == ("ab12", "delivered")
    assert parse_receipt(b"stat:DELIVRD", {}) is None


def test_a_receipt_id_is_read_as_answered_case_and_leading_zeros_aside() -> None:
    book = IdBook()
    book.add("1005")
    book.add("0A3F")
    assert book.lookup("1005") == "1005"
    assert book.lookup("a3f") == "0A3F"
    assert book.lookup("999999") is None  # no such answer (yet)


def test_a_receipt_overtaking_its_answer_never_takes_the_message_its_digits_spell_in_decimal() -> (
    None
):
    """Answers in hex, receipts as answered: "5011" is also the decimal of answer "1393".
    Before "5011" is answered, its receipt must not settle message "1393"."""
    book = IdBook()
    for n in range(0x1001, 0x1001 + SETTLED):
        book.add(f"{n:X}")
        assert book.lookup(f"{n:X}") == f"{n:X}"
    book.add("1393")
    assert book.lookup("5011") is None
    assert book.guess("5011") is None  # the SMSC's spelling is settled: no other tried
    book.add("5011")
    assert book.lookup("5011") == "5011"


def test_an_smsc_writing_hex_answers_in_decimal_is_learned_and_then_read_one_way() -> None:
    book = IdBook()
    for n in range(0x1001, 0x1100):
        book.add(f"{n:X}")
    assert book.lookup(str(0x1001)) is None
    assert book.guess(str(0x1001)) == "1001"  # decimal of a hex answer
    assert book.spelling == "decimal of a hex answer"
    assert book.lookup(str(0x1002)) == "1002"
    # "1010" is an answer too, but this SMSC means 1010 in decimal: answer "3F2"...
    book.add("3F2")
    assert book.lookup("1010") == "3F2"
    # ...and an id no answer spells that way stays unmatched.
    assert book.lookup("99999999") is None


def test_an_smsc_writing_decimal_answers_in_hex_is_learned() -> None:
    book = IdBook()
    book.add("4096")
    assert book.lookup("1000") is None
    assert book.guess("1000") == "4096"
    assert book.spelling == "hex of a decimal answer"
