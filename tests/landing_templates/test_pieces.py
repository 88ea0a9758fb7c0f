"""Pages sent as pieces compressed ahead: any mix inflates to exactly the page."""

from __future__ import annotations

import gzip
import zlib

from landing_templates.pieces import compressed, dynamic, gzip_body, raw_body


def test_compressed_and_per_request_pieces_make_one_valid_gzip_body() -> None:
    pieces = [
        compressed("<!doctype html><style>" + ".cp{margin:0}" * 200 + "</style>"),
        dynamic("Bonjour Zoé"),  # stored as is
        dynamic(""),
        compressed(""),
        dynamic("<p>" + "long personal text " * 100 + "</p>"),  # long: compressed
        dynamic("x" * 70_000),  # more than one stored block
        compressed("<script>done()</script></html>"),
    ]
    body = gzip_body(pieces)
    # gzip checks the CRC-32 and the length; a browser inflates the same stream.
    assert gzip.decompress(body) == raw_body(pieces)
    assert zlib.decompressobj(31).decompress(body) == raw_body(pieces)
    assert len(body) < len(raw_body(pieces)) // 2
