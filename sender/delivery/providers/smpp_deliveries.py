"""What the SMSC delivers over the bind: delivery receipts and inbound messages, each
handed to the sink (`ProviderEvents`).

smpp34 acknowledges a deliver_sm as soon as it is queued for Python, before our sink has
stored it: a receipt or an inbound message can be lost if the process dies in that
window (README, "SMPP receipts"). So each one is stored, retrying while the sink fails,
before the next is read: receipts several at a time, inbound messages in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final, TypeVar

import smpp34

from richsms.clock import Clock
from sender.delivery.providers.base import Inbound, ProviderEvents, Receipt
from sender.delivery.providers.smpp_config import SmppConfig
from sender.delivery.providers.smpp_flow import Window
from sender.delivery.providers.smpp_ids import IdBook
from sender.delivery.providers.smpp_link import BoundSession
from sender.delivery.providers.smpp_parts import network_phone
from sender.delivery.providers.smpp_receipts import (
    ParsedReceipt,
    PartKey,
    PartsBuffer,
    concatenation,
    decode_text,
    is_receipt,
    parse_receipt,
)

log = logging.getLogger("richsms.smpp")

T = TypeVar("T")

# How long a receipt waits for the submit answer naming its id (see _receipted_id).
RECEIPT_WAIT: Final = 2.0
# Receipts read but not stored yet, at most (then reading waits for the sink).
RECEIPTS_IN_FLIGHT: Final = 1000


class Deliveries:
    """Reads a session's deliver_sm into `events` (set once the provider starts). `ids`
    holds the ids submits were answered with and `submits` the submits still awaiting
    theirs, so that a receipt overtaking its answer can wait for it."""

    def __init__(
        self, config: SmppConfig, *, name: str, clock: Clock, ids: IdBook, submits: Window
    ) -> None:
        self.config = config
        self.name = name
        self.events: ProviderEvents | None = None
        self._clock = clock
        self._ids = ids
        self._submits = submits
        self._ready: list[Receipt] = []  # matched, waiting for the sink
        self._storing = 0  # handed to the sink, not stored yet
        self._matching: set[asyncio.Task[None]] = set()  # waiting for their answer
        self._writer: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()
        self._parts = PartsBuffer()

    @property
    def _unstored(self) -> int:
        return len(self._ready) + self._storing + len(self._matching)

    async def drain(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the receipts being stored."""
        deadline = time.monotonic() + timeout
        while self._unstored and (left := deadline - time.monotonic()) > 0:
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), left)
            except TimeoutError:
                return

    async def read(self, session: BoundSession) -> None:
        """Hand each deliver_sm to the sink. Receipts go in groups, as they are matched
        (the sink commits a group at once; smpp34 has acknowledged them already, so
        waiting for each before reading the next would protect nothing), at most
        RECEIPTS_IN_FLIGHT unstored; inbound messages one after the other, in the order
        they came (a STOP, then a START)."""
        while True:
            event = await session.smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return
            if is_receipt(event.esm_class):
                while self._unstored >= RECEIPTS_IN_FLIGHT:
                    self._progress.clear()
                    await self._progress.wait()
                self._receipt(event)
            else:
                await self._retrying(self._inbound, event)

    def _receipt(self, event: smpp34.DeliverSmEvent) -> None:
        parsed = parse_receipt(event.short_message, {tlv.tag: tlv.value for tlv in event.tlvs})
        if parsed is None:
            log.warning("receipt naming no message ignored: %r", event.short_message)
            return
        now: datetime = self._clock.now()
        found = self._ids.lookup(parsed.provider_id)
        if found is not None:
            self._add(Receipt(self.name, found, parsed.state, now, parsed.error))
            return
        task = asyncio.create_task(self._match(parsed, now))
        self._matching.add(task)
        task.add_done_callback(self._matched)

    async def _match(self, parsed: ParsedReceipt, at: datetime) -> None:
        provider_id = await self._receipted_id(parsed.provider_id)
        self._add(Receipt(self.name, provider_id, parsed.state, at, parsed.error))

    def _matched(self, task: asyncio.Task[None]) -> None:
        self._matching.discard(task)
        self._progress.set()

    def _add(self, receipt: Receipt) -> None:
        self._ready.append(receipt)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        assert self.events is not None
        while self._ready:
            batch, self._ready = self._ready, []
            self._storing = len(batch)
            try:
                await self._retrying(self.events.receipt_batch, batch)
            finally:
                self._storing = 0
                self._progress.set()

    async def _retrying(self, store: Callable[[T], Awaitable[None]], item: T) -> None:
        backoff = 0.1
        while True:
            try:
                await store(item)
                return
            except Exception:
                # The sink could not store it (database down...). Keep it and try
                # again; what comes meanwhile waits in smpp34's inbound queue.
                log.exception("could not store a deliver_sm; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _inbound(self, event: smpp34.DeliverSmEvent) -> None:
        assert self.events is not None
        tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
        now: datetime = self._clock.now()
        body, part = concatenation(event.short_message, event.esm_class, tlvs)
        text = decode_text(body, event.data_coding, gsm7_packed=self.config.gsm7_packed)
        phone = network_phone(event.source_addr, event.source_addr_ton)
        if part is not None:
            reference, total, number = part
            whole = self._parts.add(
                PartKey(phone, event.destination_addr, reference, total), number, text
            )
            if whole is None:
                return
            text = whole
        await self.events.inbound(
            Inbound(provider=self.name, phone=phone, to=event.destination_addr, text=text, at=now)
        )

    async def _receipted_id(self, provider_id: str) -> str:
        """The id as its submit_sm_resp gave it. A receipt may overtake the answer to its
        own submit (the SMSC writes both at once): while submits are in flight, wait a
        little for the answer it names; then try the SMSC's other spellings (`IdBook`).
        Unmatched, it is stored as written (kept pending, in case its answer comes)."""
        found = self._ids.lookup(provider_id)
        deadline = time.monotonic() + RECEIPT_WAIT
        while found is None and self._submits.in_flight > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self._ids.next_add(remaining)
            found = self._ids.lookup(provider_id)
        if found is None:
            found = self._ids.guess(provider_id)
        return provider_id if found is None else found
