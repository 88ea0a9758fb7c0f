"""Flow control of the smpp provider: its window of submits, one report per message,
and the names of SMPP command statuses."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Final

from sender.delivery.providers.base import Report, SubmitResult

log = logging.getLogger("richsms.smpp")

ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
THROTTLING: Final = {ESME_RMSGQFUL: "ESME_RMSGQFUL", ESME_RTHROTTLED: "ESME_RTHROTTLED"}
STATUS_NAMES: Final = {
    0x01: "ESME_RINVMSGLEN",
    0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x45: "ESME_RSUBMITFAIL",
    0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI",
    0x50: "ESME_RINVDSTTON",
    0x51: "ESME_RINVDSTNPI",
    0x62: "ESME_RINVEXPIRY",
    0x66: "ESME_RX_P_APPN",
    0x67: "ESME_RX_R_APPN",
    **THROTTLING,
}


def status_text(status: int) -> str:
    return f"{STATUS_NAMES.get(status, 'command_status')} (0x{status:08X})"


class Window:
    """Up to `limit` submits in flight, first come first served; the limit shrinks on
    throttling, then regrows. A release wakes one waiter only (a batch of hundreds
    waiting on a condition would all wake at each answer)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.limit = size
        self.in_flight = 0
        self._credit = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._idle = asyncio.Event()
        self._idle.set()

    async def acquire(self) -> None:
        self._idle.clear()
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # whoever wakes us has counted us in flight
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()
        if self.in_flight == 0 and not self._waiters:
            self._idle.set()

    def shrink(self) -> None:
        self.limit = max(1, self.limit // 2)
        self._credit = 0

    def grow(self) -> None:
        if self.limit >= self.size:
            return
        self._credit += 1
        if self._credit >= self.limit:
            self._credit = 0
            self.limit += 1
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    async def drained(self) -> None:
        await self._idle.wait()


class ReportOnce:
    """Reports each message once, whatever happens (a second report is a bug: logged)."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._done: set[int] = set()

    def __call__(self, result: SubmitResult) -> None:
        if result.message_id in self._done:
            log.error("second report for message %d dropped: %s", result.message_id, result)
            return
        self._done.add(result.message_id)
        self._report(result)
