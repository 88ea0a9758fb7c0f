"""How many unknown codes a client may try: a token bucket per client address.

A client over its limit is refused before its code is looked up, so it cannot tell an
existing code from a guess (both get 429). Only misses spend tokens: a person tapping real
links is never slowed. With Redis configured the buckets are shared by every process;
without it, or while Redis is unreachable, each process keeps its own (a redirect never
waits on Redis being up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from shortener.polling import Polling

log = logging.getLogger("richsms.limits")

CAPACITY = 20  # misses in a burst
PER_SECOND = 20 / 60  # then one every three seconds


class MissLimiter(Protocol):
    def blocked(self, client: str) -> bool:
        """Is `client` over its limit now? Cheap: asked before every lookup."""

    async def miss(self, client: str) -> bool:
        """Spend a token for an unknown code; False when the client is over its limit."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalMissLimiter:
    """Buckets in this process's memory."""

    def __init__(
        self,
        capacity: int = CAPACITY,
        per_second: float = PER_SECOND,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = float(capacity)
        self._rate = per_second
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, client: str, now: float) -> float:
        tokens, last = self._buckets.get(client, (self._capacity, now))
        return min(self._capacity, tokens + (now - last) * self._rate)

    def blocked(self, client: str) -> bool:
        if client not in self._buckets:
            return False
        return self._tokens(client, self._monotonic()) < 1

    async def miss(self, client: str) -> bool:
        return self.spend(client)

    def spend(self, client: str) -> bool:
        now = self._monotonic()
        tokens = self._tokens(client, now)
        if len(self._buckets) > 100_000:
            self._buckets.clear()  # bounded memory; a flood resets to generous, not to fail
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return False
        self._buckets[client] = (tokens - 1, now)
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


# One token bucket per client in a Redis hash, on Redis's clock. A client left with less
# than one token is also put in a sorted set until the moment it gets one back, which
# every process reads a few times a second: the check before each lookup then costs a
# dict lookup, not a round trip to Redis.
_SPEND = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
local until_ = 0
if tokens < 1 then
  until_ = now + (1 - tokens) / rate
  redis.call('ZADD', KEYS[2], until_, ARGV[3])
end
return {allowed, tostring(until_)}
"""


# Blocked clients each process keeps: bounded, so that a flood from many addresses costs
# each refresh a bounded transfer (the ones past it are still refused on their next miss).
_MAX_BLOCKED = 50_000


class RedisMissLimiter:
    """Buckets shared through Redis by every process of one deployment (`prefix`)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        capacity: int = CAPACITY,
        per_second: float = PER_SECOND,
        refresh_interval: float = 0.25,
        retry_after_failure: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        import redis.asyncio as redis_asyncio

        self._redis: Any = redis_asyncio.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25, health_check_interval=30
        )
        self._prefix = prefix
        self._blocked_key = prefix + "blocked"
        self._capacity = capacity
        self._rate = per_second
        self._refresh_interval = refresh_interval
        self._retry_after_failure = retry_after_failure
        self._wall = wall
        self._spend = self._redis.register_script(_SPEND)
        self._blocked: dict[str, float] = {}  # client → blocked until (wall clock)
        self._fallback = LocalMissLimiter(capacity, per_second)
        self._down_until = 0.0  # while Redis is failing, buckets are local
        self._polling = Polling(self._poll)

    def blocked(self, client: str) -> bool:
        until = self._blocked.get(client)
        if until is not None and until > self._wall():
            return True
        return self._fallback.blocked(client)

    async def miss(self, client: str) -> bool:
        if self._wall() < self._down_until:
            return self._fallback.spend(client)
        try:
            allowed, until = await self._spend(
                keys=[self._prefix + "bucket:" + client, self._blocked_key],
                args=[self._capacity, self._rate, client],
            )
        except Exception as exc:
            self._redis_failed(exc)
            return self._fallback.spend(client)
        if float(until) > 0:
            self._remember(client, float(until))
        return bool(int(allowed))

    def _remember(self, client: str, until: float) -> None:
        if len(self._blocked) > _MAX_BLOCKED:
            self._blocked.clear()
        self._blocked[client] = until

    def _redis_failed(self, exc: Exception) -> None:
        self._down_until = self._wall() + self._retry_after_failure
        log.warning(
            "Redis unreachable (%s): miss limits are per process for %.0f s",
            exc,
            self._retry_after_failure,
        )

    async def refresh(self) -> None:
        """Learn which clients other processes have blocked."""
        now = self._wall()
        rows = await self._redis.zrangebyscore(
            self._blocked_key, f"({now}", "+inf", start=0, num=_MAX_BLOCKED, withscores=True
        )
        fresh = {
            (member.decode() if isinstance(member, bytes) else str(member)): float(score)
            for member, score in rows
        }
        # Keep what this process learned while the snapshot was on its way.
        for client, until in self._blocked.items():
            if until > now and client not in fresh:
                fresh[client] = until
        self._blocked = fresh
        await self._redis.zremrangebyscore(self._blocked_key, "-inf", now - 60)

    async def start(self) -> None:
        self._polling.start()

    async def _poll(self) -> None:
        while True:
            if self._wall() >= self._down_until:
                try:
                    await self.refresh()
                except Exception as exc:
                    self._redis_failed(exc)
            await asyncio.sleep(self._refresh_interval)

    async def close(self) -> None:
        await self._polling.stop()
        await self._redis.aclose()
