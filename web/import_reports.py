"""Downloading the rows a contact import rejected, for the API and the UI alike: the
report `sender.audience.import_rejects` wrote to disk, streamed in chunks with every
cell neutralised against spreadsheet formulas, never read whole."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from starlette.responses import StreamingResponse

from richsms.errors import NotFound
from sender.audience.import_rejects import report_path, report_rows
from sender.results.exports import neutralize

CHUNK_ROWS = 2_000
# What a report's id looks like in a path (the API's fuzzer keeps to it).
REPORT_PATTERN = ("report", "^[A-Za-z0-9_-]{22}$")


def report_url(prefix: str, report_id: str | None) -> str | None:
    return f"{prefix}/{report_id}/rejected.csv" if report_id else None


def _lines(path: Path) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeffrow,reason\r\n")  # the BOM: spreadsheets then read it as UTF-8
    for count, (row, reason) in enumerate(report_rows(path), start=1):
        writer.writerow((neutralize(row), neutralize(reason)))
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def download(directory: Path | None, report_id: str) -> StreamingResponse:
    """The report as a CSV download; NotFound once it is gone (kept 24 hours)."""
    path = report_path(directory, report_id)
    if path is None:
        raise NotFound("no such import report: reports are kept 24 hours")
    return StreamingResponse(
        _lines(path),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": 'attachment; filename="import-rejected-rows.csv"',
            "cache-control": "private, no-store",
        },
    )
