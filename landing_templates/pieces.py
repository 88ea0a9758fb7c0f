"""A page as pieces whose gzip form is prepared ahead: the parts that are the same for
everyone (styles, scripts, static blocks) and the parts that are the same on every visit
(a recipient's coupon with its barcode) are compressed once, and a request only strings
them together.

Each piece's `deflated` form is a raw DEFLATE segment on its own (no back-reference into
other pieces) that ends on a byte boundary (a sync flush), so segments concatenate into one
valid stream; `gzip_body` adds the header, a final empty block and the CRC-32 and length of
the whole. What changes on every request (a nonce, a name) goes in stored blocks: a few
bytes, no compressor to set up.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# gzip member header: magic, DEFLATE, no flags, mtime 0, no extra flags, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# A final fixed-Huffman block holding only its end-of-block code.
_FINAL_BLOCK = b"\x03\x00"
_STORED_MAX = 0xFFFF
# Past this size a per-request piece is worth compressing (a long personal text).
_COMPRESS_DYNAMIC_FROM = 1024


@dataclass(frozen=True, slots=True)
class Piece:
    raw: bytes
    deflated: bytes


def compressed(text: str, level: int = 9) -> Piece:
    """A piece compressed once (at compile time, or the first time a coupon shows)."""
    raw = text.encode()
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    return Piece(raw, compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH))


def dynamic(text: str) -> Piece:
    """A piece made for one response: stored as is unless it is long."""
    raw = text.encode()
    if len(raw) >= _COMPRESS_DYNAMIC_FROM:
        compressor = zlib.compressobj(1, zlib.DEFLATED, -15, 8)
        return Piece(raw, compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH))
    return Piece(raw, stored(raw))


def stored(raw: bytes) -> bytes:
    """`raw` as non-final stored DEFLATE blocks (each starts and ends on a byte boundary)."""
    out = []
    for start in range(0, len(raw), _STORED_MAX):
        chunk = raw[start : start + _STORED_MAX]
        out.append(struct.pack("<BHH", 0, len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(out)


def raw_body(pieces: Iterable[Piece]) -> bytes:
    return b"".join([piece.raw for piece in pieces])


def gzip_body(pieces: Sequence[Piece]) -> bytes:
    """The pieces as one gzip member (RFC 1952), as any browser inflates it."""
    crc = 0
    size = 0
    for piece in pieces:
        crc = zlib.crc32(piece.raw, crc)
        size += len(piece.raw)
    return b"".join(
        [
            _GZIP_HEADER,
            *[piece.deflated for piece in pieces],
            _FINAL_BLOCK,
            struct.pack("<II", crc, size & 0xFFFFFFFF),
        ]
    )
