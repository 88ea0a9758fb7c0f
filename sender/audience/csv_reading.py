"""Reading a CSV file's bytes into records: the encoding, the separator, the quoting.

The file may be UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252/Latin-1;
separated by `,` or `;` (sniffed from the header line). Binary data, an empty file or an
unterminated quote is refused as a whole with InvalidInput.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
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
    header = first_line(text)
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


def first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[:end]


# A line and its ending, whichever it is (what a file opened with newline="" gives).
_LINE: Final = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> Iterator[str]:
    """The text's lines one by one: never a copy of the whole text (an io.StringIO holds
    four bytes a character), never a list of every line."""
    for match in _LINE.finditer(text):
        yield match.group()


def read_records(text: str) -> Iterator[list[str]]:
    """The file's records one by one (never a list of them all); InvalidInput where the
    CSV breaks, when that record is reached."""
    delimiter = sniff_delimiter(first_line(text))
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    count = 0
    try:
        for cells in reader:
            count += 1
            yield cells
    except csv.Error as exc:
        # Rows are counted like a spreadsheet shows them: the header is row 1.
        raise InvalidInput(
            "malformed CSV at row {row} (line {line}): {reason}"
            + (" (a quote is left open)" if "end of data" in str(exc) else ""),
            params={"row": count + 1, "line": reader.line_num, "reason": str(exc)},
        ) from None
