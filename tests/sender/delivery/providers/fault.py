"""The `fault` provider: a network with the latency and the misbehaviour you script.

For tests and benchmarks only. It is never registered by default: `register()` makes
it available to `provider_from_settings` under the name "fault".

- `latency`: seconds before each answer; `window`: how many messages it keeps in flight
  (it records the most it ever had at once: `max_in_flight`).
- `answers`: per message id, "accepted", "failed", "retry", "unknown", a SubmitResult, an
  exception to raise from `submit`, or a function of the message; `default` for the rest.
- Receipts for accepted messages: `receipt` (a state for every message) or `receipts`
  (per message id: a state, or one state per part), sent `receipt_delay` seconds after
  the answer, or before the answer is even reported (`receipts_first`: the race of a fast
  SMSC), at the time `clock` gives, or held until `release_receipts()`
  (`hold_receipts`). `settle()` waits until every scheduled receipt is handed over.

A message of several segments is accepted as several parts, one provider id each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from richsms.clock import Clock, SystemClock
from sender.delivery.providers import register_provider
from sender.delivery.providers.base import (
    OutgoingMessage,
    ProviderEvents,
    ProviderHealth,
    Receipt,
    ReceiptState,
    Report,
    SubmitResult,
)

ScriptedState = Literal["accepted", "failed", "retry", "unknown"]
Answer = ScriptedState | SubmitResult | BaseException | Callable[[OutgoingMessage], SubmitResult]
Receipts = ReceiptState | Sequence[ReceiptState]


class FaultProvider:
    def __init__(
        self,
        *,
        name: str = "fault",
        latency: float = 0.005,
        window: int = 10,
        answers: Mapping[int, Answer] | None = None,
        default: Answer = "accepted",
        retry_after: float | None = None,
        receipt: ReceiptState | None = None,
        receipts: Mapping[int, Receipts] | None = None,
        receipt_delay: float = 0.0,
        receipts_first: bool = False,
        hold_receipts: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.name = name
        self.window = window
        self.latency = latency
        self.answers: dict[int, Answer] = dict(answers or {})
        self.default = default
        self.retry_after = retry_after
        self.receipt = receipt
        self.receipts: dict[int, Receipts] = dict(receipts or {})
        self.receipt_delay = receipt_delay
        self.receipts_first = receipts_first
        self.hold_receipts = hold_receipts
        self.held: list[Receipt] = []
        self.clock = clock or SystemClock()
        self.handed: list[OutgoingMessage] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.submits = 0
        self.started = False
        self.closed = False
        self._events: ProviderEvents | None = None
        self._later: set[asyncio.Task[None]] = set()
        self._window: asyncio.Semaphore | None = None

    async def start(self, events: ProviderEvents) -> None:
        self._events = events
        self.started = True

    async def submit(self, messages: Sequence[OutgoingMessage], report: Report) -> None:
        self.submits += 1
        if self._window is None:  # one window for every batch handed over at once
            self._window = asyncio.Semaphore(self.window)
        window = self._window

        async def one(message: OutgoingMessage) -> None:
            async with window:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                self.handed.append(message)
                try:
                    if self.latency > 0:
                        await asyncio.sleep(self.latency)
                    result = self._answer(message)
                finally:
                    self.in_flight -= 1
            receipts = self._receipts_for(message, result)
            if receipts and self.receipts_first:
                await self._hand_receipts(receipts, 0.0)
            report(result)
            if receipts and self.hold_receipts:
                self.held.extend(receipts)
            elif receipts and not self.receipts_first:
                task = asyncio.create_task(self._hand_receipts(receipts, self.receipt_delay))
                self._later.add(task)
                task.add_done_callback(self._later.discard)

        done = await asyncio.gather(*(one(m) for m in messages), return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome

    def _answer(self, message: OutgoingMessage) -> SubmitResult:
        answer = self.answers.get(message.id, self.default)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, SubmitResult):
            return answer
        if callable(answer):
            return answer(message)
        if answer == "failed":
            return SubmitResult.failed(message.id, "scripted failure")
        if answer == "retry":
            return SubmitResult.retry(message.id, "scripted: throttled", self.retry_after)
        if answer == "unknown":
            return SubmitResult.unknown(message.id, "scripted: no response")
        return SubmitResult.accepted(message.id, *self.part_ids(message))

    def part_ids(self, message: OutgoingMessage) -> list[str]:
        """The provider ids it gives a message: one per segment."""
        if message.segments <= 1:
            return [f"{self.name}-{message.id}"]
        return [f"{self.name}-{message.id}-{n}" for n in range(message.segments)]

    def _receipts_for(self, message: OutgoingMessage, result: SubmitResult) -> list[Receipt]:
        if result.state != "accepted" or self._events is None:
            return []
        scripted = self.receipts.get(message.id, self.receipt)
        if scripted is None:
            return []
        ids = result.provider_ids
        states = [scripted] * len(ids) if isinstance(scripted, str) else list(scripted)
        at = self.clock.now()
        return [Receipt(self.name, pid, state, at) for pid, state in zip(ids, states, strict=False)]

    async def _hand_receipts(self, receipts: list[Receipt], delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        assert self._events is not None
        for receipt in receipts:
            await self._events.receipt(receipt)

    async def release_receipts(self) -> None:
        """Hand over the receipts held so far (`hold_receipts`)."""
        held, self.held = self.held, []
        await self._hand_receipts(held, 0.0)

    async def settle(self) -> None:
        """Wait until every receipt scheduled so far was handed to the events."""
        while self._later:
            await asyncio.gather(*list(self._later))

    async def close(self) -> None:
        await self.settle()
        self.closed = True

    def health(self) -> ProviderHealth:
        return ProviderHealth(not self.closed, "fault provider")


def register(**options: object) -> None:
    """Make `RICHSMS_PROVIDER=fault` give a FaultProvider with these options."""
    register_provider("fault", lambda _settings: FaultProvider(**options))  # type: ignore[arg-type]
