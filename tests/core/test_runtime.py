"""The runtime starts every thread and loop of a process and stops every one of them."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Engine

from richsms.runtime import Runtime, Serving, server_runtime, worker_runtime
from richsms.settings import Settings
from shortener.anonymize import IpAnonymizer
from shortener.clicks import ClickStore, ClickWriter
from shortener.limits import LocalMissLimiter
from shortener.resolver import Resolver
from tests.clock import FrozenClock

NAMES = {"wal-checkpoint", "click-writer", "richsms-worker", "richsms-chores"}


def running() -> set[str]:
    return {t.name for t in threading.enumerate()} & NAMES


def serving(engine: Engine) -> Serving:
    return Serving(
        ClickWriter(ClickStore(engine, IpAnonymizer("truncate", "k"))),
        LocalMissLimiter(),
        Resolver(engine),
        preload_links=10,
    )


def test_the_server_runtime_starts_and_stops_every_thread(
    engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    runtime = server_runtime(engine, settings, clock, serving=serving(engine), run_worker=True)
    seen: set[str] = set()

    async def serve() -> None:
        await runtime.start()
        seen.update(running())
        await runtime.stop()

    asyncio.run(serve())
    # The WAL checkpoints run only where there is a WAL (SQLite) and a click writer.
    checkpoints = {"wal-checkpoint"} if engine.dialect.name == "sqlite" else set()
    assert seen == {"click-writer", "richsms-worker", "richsms-chores", *checkpoints}
    assert running() == set()


def test_the_worker_runtime_runs_until_told_to_stop(
    engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    runtime = worker_runtime(engine, settings, clock)
    stop = threading.Event()
    process = threading.Thread(target=runtime.run_until, args=(stop,))
    process.start()
    for _ in range(1000):
        if running() == {"richsms-worker", "richsms-chores"}:
            break
        threading.Event().wait(0.01)
    assert running() == {"richsms-worker", "richsms-chores"}
    stop.set()
    process.join(30)
    assert not process.is_alive()
    assert running() == set()


def test_serving_needs_an_event_loop(engine: Engine) -> None:
    with pytest.raises(ValueError, match="event loop"):
        Runtime(engine, serving=serving(engine)).run_until(threading.Event())
