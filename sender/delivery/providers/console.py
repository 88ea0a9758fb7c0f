"""The `console` provider: nothing leaves the machine.

Each message is logged (logger "richsms.console", one line with its id, phone and text)
and, when a file is given, appended to it as one JSON line. Each line is written with a
single `write` on a file opened with O_APPEND, so lines from several worker processes
never interleave, and a line is in the file before the message is reported accepted,
even if the process is killed right after.

It accepts everything (its window is large: writing a line takes no round trip) and,
unless told otherwise, reports each message `delivered` at once through its events, so
that the demo and the phone simulator show delivered states. Those receipts reach the
events before the worker records the answers: they are kept as pending receipts and
applied when the answers are recorded, the same path a fast SMSC takes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from richsms.clock import Clock, SystemClock
from sender.delivery.providers.base import (
    OutgoingMessage,
    ProviderEvents,
    ProviderHealth,
    Receipt,
    Report,
    SubmitResult,
)

log = logging.getLogger("richsms.console")


class ConsoleProvider:
    name = "console"
    window = 10_000

    def __init__(
        self,
        log_path: str | Path | None = None,
        *,
        receipts: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self._path = Path(log_path) if log_path else None
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._receipts = receipts
        self._clock = clock or SystemClock()
        self._events: ProviderEvents | None = None

    async def start(self, events: ProviderEvents) -> None:
        self._events = events

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        accepted: list[str] = []
        for message in messages:
            log.info("SMS %d to %s: %s", message.id, message.phone, message.text)
            if self._path is not None:
                self._write(self._line(message))
            provider_id = f"console-{message.id}"
            report(SubmitResult.accepted(message.id, provider_id))
            accepted.append(provider_id)
        if self._receipts and self._events is not None and accepted:
            at, events = self._clock.now(), self._events
            # Handed over together, so that the events may store them in one transaction.
            await events.receipt_batch(
                [Receipt(self.name, pid, "delivered", at) for pid in accepted]
            )

    def _line(self, message: OutgoingMessage) -> bytes:
        line = json.dumps(
            {
                "id": message.id,
                "phone": message.phone,
                "sender": message.sender,
                "type": message.type,
                "text": message.text,
                "at": self._clock.now().isoformat(),
            },
            ensure_ascii=False,
        )
        return (line + "\n").encode()

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                assert self._path is not None
                self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, data)

    async def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def health(self) -> ProviderHealth:
        return ProviderHealth(True, "console: nothing leaves the machine")


def read_log(path: str | Path) -> list[dict[str, object]]:
    """Every message a console provider wrote to `path`, in order (for tests and demos)."""
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
