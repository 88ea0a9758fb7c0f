"""The runtime: every thread and loop of a richsms process, started and stopped in order.

`richsms serve` (the web app's lifespan) and `richsms worker` both run one; each part
only knows how to do its work until told to stop, and this module owns when:

- the WAL checkpoints (SQLite, a thread): the click writer's connection never checkpoints,
  so that no batch of clicks waits for one; whoever runs a click writer runs these;
- the click writer (a thread committing batches for the event loop), the miss limiter and
  the link cache's poller (tasks on the event loop);
- the sending worker (a thread with its own event loop) and the chore loop (a thread):
  planning, finishing campaigns, automations, reports; and the webhooks' loop (a thread of
  their own, so that a slow receiver never holds planning up).

Started in that order, stopped in the reverse one: nothing is sent once the web app stops
taking clicks, every accepted click is committed before the checkpoints stop, and the
engine is disposed last. It composes the shortener and the sender, which is why it sits in
the core next to `richsms/models.py`, the other module allowed to import them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from richsms.clock import Clock
from richsms.db import checkpoint_wal
from richsms.settings import Settings
from sender.chores import ChoreLoop, chores_from_settings, webhook_loop
from sender.delivery.worker import Worker, worker_from_settings
from shortener.clicks import ClickWriter
from shortener.limits import MissLimiter
from shortener.resolver import Resolver

SWITCH_INTERVAL = 0.001  # seconds (CPython's default: 0.005)

log = logging.getLogger("richsms")


class Background:
    """One named thread running `work(stop)` until `stop` is set, then `close()`."""

    def __init__(
        self,
        name: str,
        work: Callable[[threading.Event], object],
        close: Callable[[], object] = lambda: None,
    ) -> None:
        self.name = name
        self._work = work
        self._close = close
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._work, args=(self._stop,), name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask, wait until the work in hand is finished, then close. No timeout: closing
        under a thread still at work would pull its provider or client from under it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close()


@dataclass(frozen=True)
class Serving:
    """What the web app's hot path uses and the runtime starts: the click writer, the miss
    limiter, the link cache (preloaded with the latest `preload_links` links, then kept
    fresh by its poller), and what to warm up before the first request."""

    clicks: ClickWriter
    limiter: MissLimiter
    resolver: Resolver
    preload_links: int = 0
    warm: Sequence[Callable[[], object]] = ()


class Runtime:
    """The parts a process runs: `serving` for the web app, `sending` and `chores` when
    it sends (`richsms worker`, or `richsms serve` asked to)."""

    def __init__(
        self,
        engine: Engine,
        *,
        serving: Serving | None = None,
        sending: Worker | None = None,
        chores: ChoreLoop | None = None,
        webhooks: ChoreLoop | None = None,
    ) -> None:
        self.engine = engine
        self.serving = serving
        self.sending = sending
        self.chores = chores
        self.webhooks = webhooks
        self._checkpoints = (
            Background("wal-checkpoint", lambda stop: checkpoint_wal(engine, stop))
            if serving is not None and engine.dialect.name == "sqlite"
            else None
        )
        self._threads: list[Background] = []
        if sending is not None:
            self._threads.append(Background("richsms-worker", sending.run_forever, sending.close))
        if chores is not None:
            self._threads.append(Background("richsms-chores", chores.run_forever, chores.close))
        if webhooks is not None:  # a loop of their own: a slow receiver never holds planning
            self._threads.append(
                Background("richsms-webhooks", webhooks.run_forever, webhooks.close)
            )

    async def start(self) -> int:
        """Start everything, in order, on the running event loop; returns how many links
        the cache holds."""
        loop = asyncio.get_running_loop()
        cached = 0
        if self._checkpoints is not None:
            self._checkpoints.start()
        if (serving := self.serving) is not None:
            # The event loop shares the interpreter with the threads that render pages and
            # analyse audiences: it gets the lock back within 1 ms instead of 5.
            sys.setswitchinterval(SWITCH_INTERVAL)
            serving.clicks.start()
            await serving.limiter.start()
            try:
                cached = await loop.run_in_executor(
                    None, serving.resolver.preload, serving.preload_links
                )
            except Exception:
                log.exception("could not preload links; the cache fills on demand")
            for warm in serving.warm:
                try:  # a published page's first view then compiles nothing
                    await loop.run_in_executor(None, warm)
                except Exception:
                    log.exception("could not warm up (%s); it happens on first use", warm)
            serving.resolver.start()
        self.start_threads()
        return cached

    async def stop(self) -> None:
        """Stop everything in the reverse order, then dispose of the engine."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.stop_threads)
        if (serving := self.serving) is not None:
            await serving.resolver.stop()
            await serving.limiter.close()
            await serving.clicks.close()  # every accepted click is committed before we exit
        if self._checkpoints is not None:
            await loop.run_in_executor(None, self._checkpoints.stop)
        self.engine.dispose()

    def start_threads(self) -> None:
        """The sending worker, then the chore loop."""
        for thread in self._threads:
            thread.start()

    def stop_threads(self) -> None:
        """The chore loop (a planning job gives its claim back), then the worker (after the
        batch in hand)."""
        for thread in reversed(self._threads):
            thread.stop()

    def run_until(self, stop: threading.Event) -> None:
        """A process without an event loop of its own (`richsms worker`): run the threads
        until `stop` is set."""
        if self.serving is not None:
            raise ValueError("serving needs an event loop: start() and stop() on it")
        self.start_threads()
        try:
            # Polled, not waited on: `stop` is set by a signal handler of this thread, and
            # one that interrupts Event.wait() while it holds the event's lock deadlocks.
            while not stop.is_set():
                time.sleep(0.1)
        finally:
            self.stop_threads()
            self.engine.dispose()


def server_runtime(
    engine: Engine, settings: Settings, clock: Clock, *, serving: Serving, run_worker: bool
) -> Runtime:
    """What `richsms serve` runs: `serving` and, when asked, a sending worker and the chore
    loop next to it."""
    return Runtime(
        engine,
        serving=serving,
        sending=worker_from_settings(engine, settings, clock) if run_worker else None,
        chores=chores_from_settings(engine, settings, clock) if run_worker else None,
        webhooks=webhook_loop(engine, settings, clock) if run_worker else None,
    )


def worker_runtime(engine: Engine, settings: Settings, clock: Clock) -> Runtime:
    """What `richsms worker` runs: a sending worker and the chore loop."""
    return Runtime(
        engine,
        sending=worker_from_settings(engine, settings, clock),
        chores=chores_from_settings(engine, settings, clock),
        webhooks=webhook_loop(engine, settings, clock),
    )
