"""Reading a CSV file's bytes into records: the encoding, the separator, the quoting.

The file may be UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252/Latin-1;
separated by `,` or `;` (sniffed from the header line). Binary data, an empty file or an
unterminated quote is refused as a whole with InvalidInput.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import Final

from richsms.errors import InvalidInput

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

def decode(data: bytes) -> str:
    """The file's text: UTF-16 or UTF-8 by their BOM, else UTF-8, else Windows-1252 (the
    Latin-1 Excel writes, with € and ’), else Latin-1. Binary files are refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InvalidInput("the file starts like UTF-16 text but is not") from None
    elif b"\x00" in data:
        raise InvalidInput("this is not a CSV file: it contains binary data")
    else:
        text = _decode_8bit(data)
    if not text.strip():
        raise InvalidInput("the file is empty")
    header = text.split("\n", 1)[0]
    controls = len(_CONTROL.findall(text))
    if _CONTROL.search(header) or controls * 100 > len(text):
        raise InvalidInput("this is not a CSV file: it contains binary data")
    return text


def _decode_8bit(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_delimiter(header: str) -> str:
    """`;` when the header line has more semicolons than commas (outside quotes), else `,`."""
    counts = {",": 0, ";": 0}
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def read_records(text: str) -> list[list[str]]:
    header = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(header)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        for cells in reader:
            records.append(cells)
    except csv.Error as exc:
        # Rows are counted like a spreadsheet shows them: the header is row 1.
        raise InvalidInput(
            "malformed CSV at row {row} (line {line}): {reason}"
            + (" (a quote is left open)" if "end of data" in str(exc) else ""),
            params={"row": len(records) + 1, "line": reader.line_num, "reason": str(exc)},
        ) from None
    return records

