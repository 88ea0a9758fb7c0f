"""Submitting messages over the SMPP bind: one submit_sm per part, in a window of
outstanding submits, with throttling answers slowing us down.

A submit_sm whose answer never came (the session dropped, the response timer fired)
raises a bare `SmppError`: we cannot know whether the SMSC took it, so the message is
`unknown` and never sent again. Throttling answers (ESME_RTHROTTLED, ESME_RMSGQFUL) halve
our window and pause new submits; the window grows back one slot per window's worth of
accepted submits. Each message is reported exactly once (a guard drops any second report).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Sequence
from typing import Final

import smpp34

from sender.delivery.providers.base import OutgoingMessage, Report, SubmitResult
from sender.delivery.providers.smpp_config import SmppConfig
from sender.delivery.providers.smpp_flow import THROTTLING, ReportOnce, Window, status_text
from sender.delivery.providers.smpp_ids import IdBook
from sender.delivery.providers.smpp_link import BoundSession, Link
from sender.delivery.providers.smpp_parts import (
    WirePart,
    destination_address,
    source_address,
    wire_parts,
)

# A long message whose later part keeps being throttled: resend that part this often,
# then give up (its earlier parts are out: sending it again would duplicate them).
PART_ATTEMPTS: Final = 20


class Submitter:
    """Writes messages to whichever session `link` holds; `ids` records every id the SMSC
    answered with, for receipts to match."""

    def __init__(self, config: SmppConfig, link: Link, ids: IdBook) -> None:
        self.config = config
        self.slots = Window(config.window)
        self._link = link
        self._ids = ids
        self._pause_until = 0.0
        self._pause = 0.0
        self._references = itertools.cycle(range(256))
        for _ in range(random.randrange(256)):
            next(self._references)

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        once = ReportOnce(report)
        pending = iter(messages)

        async def runner() -> None:  # as many as the window: not a task per message
            for message in pending:
                await self._submit_one(message, once)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.slots.size, len(messages))):
                group.create_task(runner())

    async def _session_for_submit(self) -> BoundSession | None:
        """The bound session, after waiting for one (None: none came in time, or closing)."""
        deadline = time.monotonic() + self.config.bind_wait
        while not self._link.stop.is_set():
            session = self._link.session
            if session is not None and not session.lost:
                pause = self._pause_until - time.monotonic()
                if pause <= 0:
                    return session
                await asyncio.sleep(pause)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._link.bound.wait(), timeout=remaining)
            except TimeoutError:
                return None
            await asyncio.sleep(0)
        return None

    async def _submit_one(self, message: OutgoingMessage, report: ReportOnce) -> None:
        try:
            parts = wire_parts(
                message.text,
                message.encoding,
                reference=next(self._references),
                gsm7_packed=self.config.gsm7_packed,
            )
        except ValueError as error:
            report(SubmitResult.failed(message.id, str(error)))
            return
        await self.slots.acquire()
        try:
            report(await self._send_parts(message, parts))
        finally:
            self.slots.release()

    async def _send_parts(self, message: OutgoingMessage, parts: list[WirePart]) -> SubmitResult:
        ids: list[str] = []
        source = source_address(message.sender, message.sender_kind)
        destination = destination_address(message.phone)
        for number, part in enumerate(parts, start=1):
            attempts = 0
            while True:
                session = await self._session_for_submit()
                if session is None:
                    if not ids:
                        detail = self._link.health.detail or "not bound"
                        return SubmitResult.retry(message.id, detail, self.config.bind_wait)
                    return SubmitResult.unknown(
                        message.id, f"parts 1-{len(ids)} of {len(parts)} sent, then no bind"
                    )
                try:
                    answer = await session.smsc.submit_sm(
                        destination.addr,
                        part.short_message,
                        source_addr=source.addr,
                        source_addr_ton=source.ton,
                        source_addr_npi=source.npi,
                        dest_addr_ton=destination.ton,
                        dest_addr_npi=destination.npi,
                        esm_class=part.esm_class,
                        data_coding=part.data_coding,
                        registered_delivery=0x01,
                    )
                except smpp34.SmppError as error:
                    # Written, or perhaps written: no answer will come. Never resent.
                    # The session is gone: no other message may be written to it.
                    self._link.lose(session)
                    sent = f" (parts 1-{len(ids)} of {len(parts)} accepted)" if ids else ""
                    return SubmitResult.unknown(
                        message.id, f"submit_sm unanswered: {error}{sent}"
                    )
                status = answer.command_status
                if status == 0 and answer.message_id:
                    ids.append(answer.message_id)
                    self._ids.add(answer.message_id)
                    self.slots.grow()
                    self._pause = 0.0
                    break
                if status in THROTTLING:
                    pause = self._throttled()
                    if not ids:
                        return SubmitResult.retry(message.id, status_text(status), pause)
                    attempts += 1
                    if attempts < PART_ATTEMPTS:
                        continue  # this part was refused, the earlier ones are out
                    return SubmitResult.failed(
                        message.id, f"part {number} of {len(parts)}: {status_text(status)}"
                    )
                where = f"part {number} of {len(parts)}: " if len(parts) > 1 else ""
                return SubmitResult.failed(message.id, where + status_text(status))
        return SubmitResult.accepted(message.id, *ids)

    def _throttled(self) -> float:
        """Slow down: half the window, and a pause that doubles while throttling lasts."""
        self.slots.shrink()
        self._pause = min(
            max(self._pause * 2, self.config.throttle_pause), self.config.throttle_pause_max
        )
        self._pause_until = max(self._pause_until, time.monotonic() + self._pause)
        return self._pause
