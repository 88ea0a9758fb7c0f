"""The `console` provider: nothing leaves the machine.

Each message is logged (logger "richsms.console", one line with its id, phone and text)
and, when a file is given, appended to it as one JSON line. Each line is written with a
single `write` on a file opened with O_APPEND, so lines from several worker processes
never interleave, and a line is in the file as soon as `send` returns, even if the
process is killed right after.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from sender.providers import OutgoingMessage, SendResult

log = logging.getLogger("richsms.console")


class ConsoleProvider:
    name = "console"

    def __init__(self, log_path: str | Path | None = None) -> None:
        self._path = Path(log_path) if log_path else None
        self._fd: int | None = None
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> SendResult:
        log.info("SMS %d to %s: %s", message.id, message.phone, message.text)
        if self._path is not None:
            line = json.dumps(
                {
                    "id": message.id,
                    "phone": message.phone,
                    "sender": message.sender,
                    "type": message.type,
                    "text": message.text,
                    "at": datetime.now(UTC).isoformat(),
                },
                ensure_ascii=False,
            )
            self._write((line + "\n").encode())
        return SendResult.accepted(f"console-{message.id}")

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                assert self._path is not None
                self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, data)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_log(path: str | Path) -> list[dict[str, object]]:
    """Every message a console provider wrote to `path`, in order (for tests and demos)."""
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
