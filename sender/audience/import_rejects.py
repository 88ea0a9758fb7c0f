"""The rows an import rejects: counted, the first SHOWN kept to be told on screen, and
every one of them streamed to a CSV file on disk (`row,reason`), never held in memory: a
10 MB file of bad rows costs the server its buffers, not a list of millions of reasons.

A reason whose number could be read in another country gets its hint only once the whole
file is read (`sender.audience.csv_import`): rows are first spilled to an anonymous file
with their raw number, then written once to the report with the hint applied. Reports
are named by an unguessable id in their directory and removed after KEEP_SECONDS.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from richsms.errors import RichsmsError

SHOWN: Final = 100  # rejected rows an answer lists; the report has them all
MAX_REASON: Final = 300  # characters of one reason (a reason may quote the row's cell)
KEEP_SECONDS: Final = 24 * 3600
# Where reports go unless RICHSMS_IMPORT_REPORTS_DIR says otherwise.
DEFAULT_DIRECTORY: Final = Path(tempfile.gettempdir()) / "richsms-import-reports"
_ID: Final = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int  # 1-based, the header being row 1
    reason: str  # English, as the API and the error report say it
    error: RichsmsError | None = None  # the reason, to be told in another language

    @classmethod
    def of(cls, row: int, error: RichsmsError) -> Rejection:
        return cls(row, capped(error.message), error)

    def told(self, translate: Callable[[str], str]) -> str:
        return capped(self.error.told(translate)) if self.error else translate(self.reason)

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "reason": self.reason}


def capped(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


# What a bad number's hint becomes: the rejection with the hint, or None for no hint.
Hint = Callable[[Rejection, str], Rejection | None]


class RejectedRows:
    """Collects an import's rejections in `directory` (None: DEFAULT_DIRECTORY; created if
    missing)."""

    def __init__(self, directory: Path | None) -> None:
        directory = directory or DEFAULT_DIRECTORY
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.count = 0
        self.first: list[Rejection] = []
        self._raw: dict[int, str] = {}  # raw numbers of the first rows, for their hint
        self._spill = tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=directory)
        self._writer = csv.writer(self._spill, lineterminator="\n")

    def add(self, rejection: Rejection, raw_number: str | None = None) -> None:
        self.count += 1
        if len(self.first) < SHOWN:
            self.first.append(rejection)
            if raw_number is not None:
                self._raw[len(self.first) - 1] = raw_number
        self._writer.writerow((rejection.row, raw_number or "", rejection.reason))

    def finish(self, hint: Hint) -> str | None:
        """The report written (with each bad number's hint) and named: its id, or None
        when nothing was rejected. The first rows get their hints too."""
        for position, raw in self._raw.items():
            hinted = hint(self.first[position], raw)
            if hinted is not None:
                self.first[position] = hinted
        if not self.count:
            self._spill.close()
            return None
        remove_old(self.directory)
        report_id = secrets.token_urlsafe(16)
        self._spill.seek(0)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", dir=self.directory, delete=False, suffix=".part"
        ) as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(("row", "reason"))
            for row, raw, reason in csv.reader(self._spill):
                rejection = Rejection(int(row), reason)
                hinted = hint(rejection, raw) if raw else None
                writer.writerow((row, (hinted or rejection).reason))
        os.replace(out.name, self.directory / f"{report_id}.csv")
        self._spill.close()
        return report_id

    def close(self) -> None:
        self._spill.close()


def report_path(directory: Path | None, report_id: str) -> Path | None:
    """The report named `report_id`, if it is one and is still kept."""
    if not _ID.match(report_id):
        return None
    path = (directory or DEFAULT_DIRECTORY) / f"{report_id}.csv"
    return path if path.is_file() else None


def report_rows(path: Path) -> Iterator[list[str]]:
    """The report's rows (row, reason) after its header, read as they are needed."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        yield from reader


def remove_old(directory: Path, keep: float = KEEP_SECONDS) -> None:
    """Reports (and spills an interrupted import left) older than `keep` seconds go."""
    limit = time.time() - keep
    for path in directory.iterdir():
        try:
            if path.suffix in (".csv", ".part") and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:  # another process removed it meanwhile
            continue
