"""The `smpp` provider: SMPP 3.4 over one transceiver bind, through smpp34.

smpp34 (PyPI, Rust core) does the protocol: framing, sequence numbers, its window of
outstanding submit_sm, enquire_link every 30 s, response timers. Its weak points are
covered here:

- it does not reconnect: a lost session ends its client for good, so a supervisor task
  binds a new `smpp34.Client` each time, with back-off, and messages waiting for a
  window slot simply wait for the new session;
- a submit_sm whose answer never came (the session dropped, the response timer fired)
  raises a bare `SmppError`: we cannot know whether the SMSC took it, so the message is
  `unknown` and never sent again;
- a refused bind surfaces as "bind timed out": `smpp_probe` reads the real status;
- it acknowledges a deliver_sm as soon as it is queued for Python, before our sink has
  stored it: a receipt or an inbound message can be lost if the process dies in that
  window (README, "SMPP receipts"). We store each one before reading the next.

Each message is reported exactly once (a guard drops any second report). Throttling
answers (ESME_RTHROTTLED, ESME_RMSGQFUL) halve our window and pause new submits; the
window grows back one slot per window's worth of accepted submits.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import smpp34

from richsms.clock import Clock, SystemClock
from richsms.settings import Settings
from sender.providers.base import (
    Inbound,
    OutgoingMessage,
    ProviderEvents,
    ProviderHealth,
    Receipt,
    Report,
    SubmitResult,
)
from sender.providers.smpp_config import SmppConfig
from sender.providers.smpp_flow import THROTTLING, ReportOnce, Window, status_text
from sender.providers.smpp_parts import (
    WirePart,
    destination_address,
    network_phone,
    source_address,
    wire_parts,
)
from sender.providers.smpp_probe import bind_refusal
from sender.providers.smpp_receipts import (
    IdBook,
    PartKey,
    PartsBuffer,
    concatenation,
    decode_text,
    is_receipt,
    parse_receipt,
)

log = logging.getLogger("richsms.smpp")

# A long message whose later part keeps being throttled: resend that part this often,
# then give up (its earlier parts are out: sending it again would duplicate them).
PART_ATTEMPTS: Final = 20
# How long a receipt waits for the submit answer naming its id (see _receipted_id).
RECEIPT_WAIT: Final = 2.0
# Receipts handed to the sink at once (it commits them in groups).
RECEIPTS_IN_FLIGHT: Final = 1000


class _Session:
    def __init__(self, smsc: smpp34.Smsc) -> None:
        self.smsc = smsc
        self.lost = False


class SmppProvider:
    name = "smpp"

    def __init__(self, config: SmppConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.window = config.window
        self._clock = clock or SystemClock()
        self._events: ProviderEvents | None = None
        self._session: _Session | None = None
        self._bound = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._stop = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._client: smpp34.Client | None = None
        self._health = ProviderHealth(False, "not started")
        self._slots = Window(config.window)
        self._pause_until = 0.0
        self._pause = 0.0
        self._references = itertools.cycle(range(256))
        for _ in range(random.randrange(256)):
            next(self._references)
        self._ids = IdBook()
        self._storing = asyncio.Semaphore(RECEIPTS_IN_FLIGHT)
        self._stores: set[asyncio.Task[None]] = set()
        self._parts = PartsBuffer()
        self.binds = 0  # sessions opened, for tests and logs

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, events: ProviderEvents) -> None:
        """Start binding; returns once the first bind succeeded or failed (then it keeps
        trying with back-off, and health() says why it failed)."""
        self._events = events
        self._supervisor = asyncio.create_task(self._supervise(), name="smpp-supervisor")
        await self._first_attempt.wait()

    async def close(self) -> None:
        self._stop.set()
        self._bound.set()  # wake messages waiting for a bind: they are handed back
        try:
            await asyncio.wait_for(self._slots.drained(), timeout=self.config.connect_timeout)
        except TimeoutError:
            log.warning("closing with %d submits unanswered", self._slots.in_flight)
        if self._stores:
            await asyncio.wait(set(self._stores), timeout=self.config.connect_timeout)
        session = self._session
        if session is not None and not session.lost:
            await session.smsc.unbind()
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except asyncio.CancelledError:
                pass
        self._health = ProviderHealth(False, "closed")

    def health(self) -> ProviderHealth:
        return self._health

    # -- the session -------------------------------------------------------------------

    async def _supervise(self) -> None:
        backoff = self.config.backoff_initial
        where = f"{self.config.host}:{self.config.port}"
        while not self._stop.is_set():
            client = smpp34.Client(
                self.config.host,
                self.config.port,
                self.config.system_id,
                self.config.password,
                bind_type="TRX",
                system_type=self.config.system_type,
                tls=self.config.tls,
                window_size=self.config.window,
                inbound_capacity=self.config.inbound_queue,
                connect_timeout_ms=int(self.config.connect_timeout * 1000),
            )
            try:
                smsc = await client.connect()
            except Exception as error:  # SmppError, or anything else: keep trying
                reason = await bind_refusal(
                    self.config.host,
                    self.config.port,
                    self.config.system_id,
                    self.config.password,
                    self.config.system_type,
                    tls=self.config.tls,
                )
                detail = f"SMPP bind to {where} refused: {reason}" if reason else (
                    f"SMPP bind to {where} failed: {error}"
                )
                self._health = ProviderHealth(False, detail)
                log.error("%s; next attempt in %.1f s", detail, backoff)
                self._first_attempt.set()
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, self.config.backoff_max)
                continue
            backoff = self.config.backoff_initial
            session = _Session(smsc)
            self._client, self._session = client, session
            self.binds += 1
            self._health = ProviderHealth(True, f"bound to {where} as {self.config.system_id}")
            log.info("SMPP transceiver bound to %s as %s", where, self.config.system_id)
            self._bound.set()
            self._first_attempt.set()
            try:
                await self._read(session)
            finally:
                session.lost = True
                self._session = None
                if not self._stop.is_set():
                    self._bound.clear()
            if not self._stop.is_set():
                self._health = ProviderHealth(False, f"SMPP session to {where} lost; rebinding")
                log.warning("SMPP session to %s lost; rebinding", where)
            await client.stop()

    async def _read(self, session: _Session) -> None:
        """Hand each deliver_sm to the sink. Receipts are stored several at a time (the
        sink commits them in groups; smpp34 has acknowledged them already, so waiting
        for each before reading the next would protect nothing); inbound messages one
        after the other, in the order they came (a STOP, then a START)."""
        while True:
            event = await session.smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return
            if is_receipt(event.esm_class):
                await self._storing.acquire()
                task = asyncio.create_task(self._store(event))
                self._stores.add(task)
                task.add_done_callback(self._stored)
            else:
                await self._store(event)

    def _stored(self, task: asyncio.Task[None]) -> None:
        self._stores.discard(task)
        self._storing.release()

    async def _store(self, event: smpp34.DeliverSmEvent) -> None:
        backoff = 0.1
        while True:
            try:
                await self._deliver(event)
                return
            except Exception:
                # The sink could not store it (database down...). Keep it and try
                # again; what comes meanwhile waits in smpp34's inbound queue.
                log.exception("could not store a deliver_sm; retrying in %.1f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _deliver(self, event: smpp34.DeliverSmEvent) -> None:
        assert self._events is not None
        tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
        now: datetime = self._clock.now()
        if is_receipt(event.esm_class):
            parsed = parse_receipt(event.short_message, tlvs)
            if parsed is None:
                log.warning("receipt naming no message ignored: %r", event.short_message)
                return
            await self._events.receipt(
                Receipt(
                    provider=self.name,
                    provider_id=await self._receipted_id(parsed.provider_id),
                    state=parsed.state,
                    at=now,
                    error=parsed.error,
                )
            )
            return
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
        await self._events.inbound(
            Inbound(provider=self.name, phone=phone, to=event.destination_addr, text=text, at=now)
        )

    async def _receipted_id(self, provider_id: str) -> str:
        """The id as its submit_sm_resp gave it. A receipt may overtake the answer to its
        own submit (the SMSC writes both at once): while submits are in flight, wait a
        little for an id that matches it, hex or decimal."""
        resolved = self._ids.resolve(provider_id)
        deadline = time.monotonic() + RECEIPT_WAIT
        while resolved not in self._ids and self._slots.in_flight > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self._ids.next_add(remaining)
            resolved = self._ids.resolve(provider_id)
        return resolved

    # -- sending -----------------------------------------------------------------------

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        once = ReportOnce(report)
        async with asyncio.TaskGroup() as group:
            for message in messages:
                group.create_task(self._submit_one(message, once))

    async def _session_for_submit(self) -> _Session | None:
        """The bound session, after waiting for one (None: none came in time, or closing)."""
        deadline = time.monotonic() + self.config.bind_wait
        while not self._stop.is_set():
            session = self._session
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
                await asyncio.wait_for(self._bound.wait(), timeout=remaining)
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
        await self._slots.acquire()
        try:
            report(await self._send_parts(message, parts))
        finally:
            self._slots.release()

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
                        return SubmitResult.retry(
                            message.id, self._health.detail or "not bound", self.config.bind_wait
                        )
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
                    self._lose(session)
                    sent = f" (parts 1-{len(ids)} of {len(parts)} accepted)" if ids else ""
                    return SubmitResult.unknown(
                        message.id, f"submit_sm unanswered: {error}{sent}"
                    )
                status = answer.command_status
                if status == 0 and answer.message_id:
                    ids.append(answer.message_id)
                    self._ids.add(answer.message_id)
                    self._slots.grow()
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

    def _lose(self, session: _Session) -> None:
        session.lost = True
        if self._session is session:
            self._bound.clear()

    def _throttled(self) -> float:
        """Slow down: half the window, and a pause that doubles while throttling lasts."""
        self._slots.shrink()
        self._pause = min(
            max(self._pause * 2, self.config.throttle_pause), self.config.throttle_pause_max
        )
        self._pause_until = max(self._pause_until, time.monotonic() + self._pause)
        return self._pause


def from_settings(settings: Settings) -> SmppProvider:
    return SmppProvider(SmppConfig.from_settings(settings))


webhooks = None


__all__ = ["SmppConfig", "SmppProvider", "from_settings", "webhooks"]
