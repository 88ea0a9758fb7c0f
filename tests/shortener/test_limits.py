"""The in-process miss limiter: twenty misses in a burst, then one every three seconds;
a blocked client is refused before any lookup, and taps on real links spend nothing."""

from __future__ import annotations

import asyncio

from shortener.limits import LocalMissLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_twenty_misses_then_one_every_three_seconds() -> None:
    ticks = Ticks()
    limiter = LocalMissLimiter(monotonic=ticks)

    async def run() -> None:
        assert not limiter.blocked("a")
        assert all([await limiter.miss("a") for _ in range(20)])
        assert limiter.blocked("a") and not limiter.blocked("b")
        assert not await limiter.miss("a")
        ticks.now += 3.1
        assert not limiter.blocked("a")
        assert await limiter.miss("a")
        assert limiter.blocked("a")
        ticks.now += 60
        assert not limiter.blocked("a")

    asyncio.run(run())
