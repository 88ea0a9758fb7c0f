"""What an SMS looks like on an SMPP wire: parts, user data headers, GSM-7 bytes, addresses.

A long message is sent as concatenated parts, each carrying a user data header (UDH,
IEI 0x00: an 8-bit reference, the number of parts and this part's number). The text is
split on character boundaries counted as `sender.compose.encoding` counts them, so that a GSM-7
extension character (an escape and its septet) or a UTF-16 surrogate pair never straddles
two parts: the phone would show garbage on both sides of the cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sender.compose.encoding import (
    GSM7,
    GSM_BASIC,
    GSM_EXTENSION,
    MULTI_LIMIT,
    SINGLE_LIMIT,
    UCS2,
    Encoding,
    is_gsm7,
    units_of,
)

DATA_CODING: Final = {GSM7: 0x00, UCS2: 0x08}
ESM_CLASS_UDHI: Final = 0x40

_ESCAPE: Final = 0x1B
# The basic table has 128 positions; GSM_BASIC leaves out the escape at 0x1B.
_SEPTETS: Final = {c: i if i < _ESCAPE else i + 1 for i, c in enumerate(GSM_BASIC)}
_EXTENSION_SEPTETS: Final = dict(
    zip(GSM_EXTENSION, (0x0A, 0x14, 0x28, 0x29, 0x2F, 0x3C, 0x3D, 0x3E, 0x40, 0x65), strict=True)
)
_CHARACTERS: Final = {v: k for k, v in _SEPTETS.items()}
# str.translate tables: each character to its septet(s) as a Latin-1 character, so that
# encoding a text is one C-level pass.
_TO_SEPTETS: Final = {
    **{ord(c): chr(v) for c, v in _SEPTETS.items()},
    **{ord(c): chr(_ESCAPE) + chr(v) for c, v in _EXTENSION_SEPTETS.items()},
}
_EXTENSION_CHARACTERS: Final = {v: k for k, v in _EXTENSION_SEPTETS.items()}


@dataclass(frozen=True, slots=True)
class WirePart:
    """One submit_sm's worth of a message."""

    short_message: bytes
    esm_class: int
    data_coding: int


def wire_encoding(text: str, encoding: str) -> Encoding:
    """The encoding to send `text` in: the analysis's, unless the text cannot be GSM-7."""
    if encoding == GSM7 and is_gsm7(text):
        return GSM7
    return UCS2


def _units(character: str, encoding: Encoding) -> int:
    if encoding == GSM7:
        return 2 if character in _EXTENSION_SEPTETS else 1
    return 2 if ord(character) > 0xFFFF else 1


def split_parts(text: str, encoding: Encoding) -> list[str]:
    """`text` cut into the parts of a concatenated SMS (one part when it fits in one).

    Cuts fall between characters, never inside an escape pair or a surrogate pair, so
    a part may hold one unit less than the limit.
    """
    if units_of(text, encoding) <= SINGLE_LIMIT[encoding]:
        return [text]
    units = [_units(c, encoding) for c in text]
    limit = MULTI_LIMIT[encoding]
    parts: list[str] = []
    start = used = 0
    for index, cost in enumerate(units):
        if used + cost > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return parts


def gsm7_septets(text: str) -> bytes:
    """GSM-7 `text`, one septet a byte, extension characters escaped."""
    return text.translate(_TO_SEPTETS).encode("latin-1")


def gsm7_text(septets: bytes) -> str:
    """The text of unpacked GSM-7 septets (unknown septets become '?')."""
    out: list[str] = []
    escaped = False
    for septet in septets:
        if escaped:
            out.append(_EXTENSION_CHARACTERS.get(septet, "?"))
            escaped = False
        elif septet == _ESCAPE:
            escaped = True
        else:
            out.append(_CHARACTERS.get(septet & 0x7F, "?"))
    return "".join(out)


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Septets packed 7 bits each, least significant first, after `fill_bits` zero bits
    (a UDH ends on an octet boundary, the text must start on a septet boundary)."""
    value = 0
    bits = fill_bits
    for septet in septets:
        value |= (septet & 0x7F) << bits
        bits += 7
    return value.to_bytes((bits + 7) // 8, "little")


def unpack_septets(packed: bytes, count: int, fill_bits: int = 0) -> bytes:
    value = int.from_bytes(packed, "little") >> fill_bits
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def wire_parts(
    text: str, encoding: str, *, reference: int, gsm7_packed: bool = False
) -> list[WirePart]:
    """The submit_sm bodies for `text`: one, or concatenated parts with a UDH each."""
    chosen = wire_encoding(text, encoding)
    pieces = split_parts(text, chosen)
    coding = DATA_CODING[chosen]
    if len(pieces) > 255:
        raise ValueError("a message cannot have more than 255 parts")
    parts: list[WirePart] = []
    for number, piece in enumerate(pieces, start=1):
        if len(pieces) == 1:
            udh = b""
        else:
            udh = bytes((0x05, 0x00, 0x03, reference & 0xFF, len(pieces), number))
        if chosen == UCS2:
            body = piece.encode("utf-16-be", "surrogatepass")
        elif gsm7_packed:
            # The UDH takes 6 octets; one fill bit brings the text to septet 7.
            body = pack_septets(gsm7_septets(piece), fill_bits=1 if udh else 0)
        else:
            body = gsm7_septets(piece)
        parts.append(WirePart(udh + body, ESM_CLASS_UDHI if udh else 0, coding))
    return parts


@dataclass(frozen=True, slots=True)
class Address:
    addr: str
    ton: int
    npi: int


# TON / NPI (SMPP 3.4 5.2.5-6): international + E.164, network-specific short codes,
# alphanumeric with no numbering plan.
TON_INTERNATIONAL, TON_NATIONAL, TON_NETWORK, TON_ALPHANUMERIC = 1, 2, 3, 5
NPI_UNKNOWN, NPI_E164 = 0, 1


def source_address(sender: str, kind: str) -> Address:
    """The submit_sm source address for a sender number or name of `kind`."""
    if kind == "":
        digits = sender.lstrip("+")
        if not digits.isdigit():
            kind = "alphanumeric"
        elif sender.startswith("+") or len(digits) > 8:
            kind = "long_code"
        else:
            kind = "short_code"
    if kind == "alphanumeric":
        return Address(sender[:11], TON_ALPHANUMERIC, NPI_UNKNOWN)
    if kind == "short_code":
        return Address(sender, TON_NETWORK, NPI_UNKNOWN)
    return Address(sender.lstrip("+"), TON_INTERNATIONAL, NPI_E164)


def destination_address(phone: str) -> Address:
    return Address(phone.lstrip("+"), TON_INTERNATIONAL, NPI_E164)


def network_phone(addr: str, ton: int) -> str:
    """An address from the network in E.164 when it says it is international."""
    if ton == TON_INTERNATIONAL and addr and not addr.startswith("+"):
        return "+" + addr
    return addr
