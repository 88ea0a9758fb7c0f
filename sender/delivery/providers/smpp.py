"""The `smpp` provider: SMPP 3.4 over one transceiver bind, through smpp34.

smpp34 (PyPI, Rust core) does the protocol: framing, sequence numbers, its window of
outstanding submit_sm, enquire_link every 30 s, response timers. Its weak points are
covered here and in the modules this one puts together:

- it does not reconnect: a lost session ends its client for good, so a supervisor task
  (here) binds a new `smpp34.Client` each time, with back-off, and messages waiting for a
  window slot simply wait for the new session (`smpp_link`);
- a submit_sm whose answer never came is `unknown` and never sent again, and throttling
  answers slow us down (`smpp_submit`);
- a refused bind surfaces as "bind timed out": `smpp_probe` reads the real status;
- it leaves Nagle's algorithm on, which holds small submits back: `smpp_socket`;
- it acknowledges a deliver_sm before our sink has stored it: receipts and inbound
  messages are stored one by one as they come (`smpp_deliveries`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import smpp34

from richsms.clock import Clock, SystemClock
from richsms.settings import Settings
from sender.delivery.providers.base import OutgoingMessage, ProviderEvents, ProviderHealth, Report
from sender.delivery.providers.smpp_config import SmppConfig
from sender.delivery.providers.smpp_deliveries import Deliveries
from sender.delivery.providers.smpp_ids import IdBook
from sender.delivery.providers.smpp_link import BoundSession, Link
from sender.delivery.providers.smpp_probe import bind_refusal
from sender.delivery.providers.smpp_socket import set_nodelay_towards
from sender.delivery.providers.smpp_submit import Submitter

log = logging.getLogger("richsms.smpp")


class SmppProvider:
    name = "smpp"

    def __init__(self, config: SmppConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.window = config.window
        self._link = Link()
        self._first_attempt = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._client: smpp34.Client | None = None
        ids = IdBook()
        self._submitter = Submitter(config, self._link, ids)
        self._deliveries = Deliveries(
            config,
            name=self.name,
            clock=clock or SystemClock(),
            ids=ids,
            submits=self._submitter.slots,
        )
        self.binds = 0  # sessions opened, for tests and logs

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, events: ProviderEvents) -> None:
        """Start binding; returns once the first bind succeeded or failed (then it keeps
        trying with back-off, and health() says why it failed)."""
        self._deliveries.events = events
        self._supervisor = asyncio.create_task(self._supervise(), name="smpp-supervisor")
        await self._first_attempt.wait()

    async def close(self) -> None:
        self._link.stop.set()
        self._link.bound.set()  # wake messages waiting for a bind: they are handed back
        slots = self._submitter.slots
        try:
            await asyncio.wait_for(slots.drained(), timeout=self.config.connect_timeout)
        except TimeoutError:
            log.warning("closing with %d submits unanswered", slots.in_flight)
        session = self._link.session
        if session is not None and not session.lost:
            try:  # smpp34 waits 30 s for an SMSC that does not answer
                await asyncio.wait_for(session.smsc.unbind(), timeout=self.config.connect_timeout)
            except TimeoutError:
                log.warning("the SMSC did not answer the unbind; closing without it")
        if self._supervisor is not None:
            # smpp34 acknowledged every receipt it queued before the unbind: the reader
            # hands them all to the sink before the session ends and the supervisor
            # returns. Cancelled only if that takes longer than a bind may.
            try:
                await asyncio.wait_for(self._supervisor, timeout=self.config.connect_timeout)
            except TimeoutError:
                log.warning("closing before the SMPP session ended")
            except asyncio.CancelledError:
                pass
        await self._deliveries.drain(self.config.connect_timeout)
        self._link.health = ProviderHealth(False, "closed")

    def health(self) -> ProviderHealth:
        return self._link.health

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        await self._submitter.submit(messages, report)

    # -- the session -------------------------------------------------------------------

    async def _supervise(self) -> None:
        backoff = self.config.backoff_initial
        where = f"{self.config.host}:{self.config.port}"
        while not self._link.stop.is_set():
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
                self._link.health = ProviderHealth(False, detail)
                log.error("%s; next attempt in %.1f s", detail, backoff)
                self._first_attempt.set()
                try:
                    await asyncio.wait_for(self._link.stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, self.config.backoff_max)
                continue
            backoff = self.config.backoff_initial
            await asyncio.to_thread(set_nodelay_towards, self.config.host, self.config.port)
            session = BoundSession(smsc)
            self._client, self._link.session = client, session
            self.binds += 1
            self._link.health = ProviderHealth(True, f"bound to {where} as {self.config.system_id}")
            log.info("SMPP transceiver bound to %s as %s", where, self.config.system_id)
            self._link.bound.set()
            self._first_attempt.set()
            try:
                await self._deliveries.read(session)
            finally:
                session.lost = True
                self._link.session = None
                if not self._link.stop.is_set():
                    self._link.bound.clear()
            if not self._link.stop.is_set():
                lost = f"SMPP session to {where} lost; rebinding"
                self._link.health = ProviderHealth(False, lost)
                log.warning("SMPP session to %s lost; rebinding", where)
            await client.stop()


def from_settings(settings: Settings) -> SmppProvider:
    return SmppProvider(SmppConfig.from_settings(settings))


webhooks = None


__all__ = ["SmppConfig", "SmppProvider", "from_settings", "webhooks"]
