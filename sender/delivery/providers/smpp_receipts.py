"""Reading what an SMSC delivers: receipts (esm_class 0x04) and mobile-originated texts.

A receipt names the message by the id the SMSC gave in its submit_sm_resp: in the
`receipted_message_id` TLV, or in the `id:` field of the receipt text (SMPP 3.4
appendix B), which may spell it otherwise than the answer did (`smpp_ids`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from sender.delivery.providers.base import ReceiptState
from sender.delivery.providers.smpp_parts import gsm7_text, unpack_septets

TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_MESSAGE_STATE: Final = 0x0427
TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F

STATES: Final[dict[str, ReceiptState]] = {
    "DELIVRD": "delivered",
    "UNDELIV": "undelivered",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "DELETED": "undelivered",
    "UNKNOWN": "unknown",
    "ACCEPTD": "sent",
    "ENROUTE": "sent",
}
# message_state TLV values (SMPP 3.4 5.2.28).
TLV_STATES: Final[dict[int, ReceiptState]] = {
    1: "sent",
    2: "delivered",
    3: "expired",
    4: "undelivered",
    5: "undelivered",
    6: "sent",
    7: "unknown",
    8: "rejected",
}
_FIELD = re.compile(r"(id|stat|err):\s*(\S+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedReceipt:
    provider_id: str
    state: ReceiptState
    error: str | None


def is_receipt(esm_class: int) -> bool:
    """Message type bits 2-5 of esm_class: 0001 is an SMSC delivery receipt."""
    return (esm_class >> 2) & 0x0F == 0x01


def _tlv(tlvs: dict[int, bytes], tag: int) -> bytes | None:
    return tlvs.get(tag)


def parse_receipt(short_message: bytes, tlvs: dict[int, bytes]) -> ParsedReceipt | None:
    """The id and verdict of a delivery receipt; None when it names no message."""
    text = short_message.decode("latin-1")
    fields = {name.lower(): value for name, value in _FIELD.findall(text)}
    raw_id = _tlv(tlvs, TLV_RECEIPTED_MESSAGE_ID)
    provider_id = raw_id.rstrip(b"\x00").decode("latin-1") if raw_id else fields.get("id", "")
    if not provider_id:
        return None
    stat = fields.get("stat", "").upper()
    state: ReceiptState
    if stat in STATES:
        state = STATES[stat]
    else:
        raw_state = _tlv(tlvs, TLV_MESSAGE_STATE)
        state = TLV_STATES.get(raw_state[0], "unknown") if raw_state else "unknown"
    err = fields.get("err")
    error = None if state in ("delivered", "sent") else f"{stat or state} err:{err or '-'}"
    return ParsedReceipt(provider_id, state, error)


def decode_text(short_message: bytes, data_coding: int, *, gsm7_packed: bool = False) -> str:
    """The text of a deliver_sm body (its UDH already removed)."""
    coding = data_coding & 0x0F if data_coding & 0xF0 in (0x00, 0xF0) else data_coding
    if data_coding == 0x08 or coding == 0x08:
        return short_message.decode("utf-16-be", "replace")
    if data_coding in (0x03, 0x01):
        return short_message.decode("latin-1")
    if gsm7_packed:
        count = len(short_message) * 8 // 7
        return gsm7_text(unpack_septets(short_message, count)).rstrip("@")
    return gsm7_text(short_message)


@dataclass(frozen=True, slots=True)
class PartKey:
    phone: str
    to: str
    reference: int
    total: int


def concatenation(short_message: bytes, esm_class: int, tlvs: dict[int, bytes]) -> tuple[
    bytes, tuple[int, int, int] | None
]:
    """(body without its UDH, (reference, total, number) when it is one part of several)."""
    if esm_class & 0x40 and short_message:
        header_length = short_message[0] + 1
        header, body = short_message[1:header_length], short_message[header_length:]
        index = 0
        while index + 1 < len(header):
            iei, length = header[index], header[index + 1]
            value = header[index + 2 : index + 2 + length]
            if iei == 0x00 and length == 3:
                return body, (value[0], value[1], value[2])
            if iei == 0x08 and length == 4:
                return body, ((value[0] << 8) | value[1], value[2], value[3])
            index += 2 + length
        return body, None
    reference = tlvs.get(TLV_SAR_MSG_REF_NUM)
    total = tlvs.get(TLV_SAR_TOTAL_SEGMENTS)
    number = tlvs.get(TLV_SAR_SEGMENT_SEQNUM)
    if reference and total and number:
        return short_message, (int.from_bytes(reference, "big"), total[0], number[0])
    return short_message, None


@dataclass
class PartsBuffer:
    """Concatenated inbound parts, held until every part of a message has come."""

    parts: dict[PartKey, dict[int, str]] = field(default_factory=dict)

    def add(self, key: PartKey, number: int, text: str) -> str | None:
        """The whole text once `key`'s last missing part arrives, else None."""
        held = self.parts.setdefault(key, {})
        held[number] = text
        if len(held) < key.total:
            return None
        del self.parts[key]
        return "".join(held[n] for n in sorted(held))
