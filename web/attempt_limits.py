"""Limits on attempts (sign-in guesses, the staff page's POSTs): a token bucket per key.

With `RICHSMS_REDIS_URL` set the buckets live in Redis, shared by every process of the
deployment, as the short links' miss limits are; otherwise, or while Redis does not
answer, each process keeps its own (AttemptLimiter). The callers run in the thread
pool, so the Redis client here is the synchronous one, with a short timeout: a slow
Redis costs an attempt a quarter of a second, never a hang.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from richsms.settings import Settings

log = logging.getLogger("richsms.limits")

# Every key spends a token if it has one; the attempt is allowed only if all had one
# (as AttemptLimiter.allow). On Redis's clock, so that every process agrees.
_ATTEMPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local allowed = 1
for _, key in ipairs(KEYS) do
  local bucket = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(bucket[1]) or capacity
  local at = tonumber(bucket[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  if tokens >= 1 then
    tokens = tokens - 1
  else
    allowed = 0
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', key, math.ceil(capacity / rate) + 1)
end
return allowed
"""


class AttemptLimiter:
    """At most `capacity` attempts per key, refilled at `per_second`, in this process."""

    def __init__(
        self, capacity: int = 10, per_second: float = 10 / 600, now: Callable[[], float] = time.time
    ) -> None:
        self._capacity = float(capacity)
        self._rate = per_second
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, *keys: str) -> bool:
        now = self._now()
        if len(self._buckets) > 100_000:
            self._buckets.clear()  # bounded memory under a flood of random keys
        allowed = True
        for key in keys:
            tokens, last = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + max(0.0, now - last) * self._rate)
            if tokens < 1:
                allowed = False
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
        return allowed


def redis_prefix(settings: Settings) -> str:
    """Keys of one deployment, apart from another's sharing the Redis: named by its secret."""
    tag = hashlib.sha256(b"richsms-limits:" + settings.secret_key.reveal().encode())
    return f"richsms:{tag.hexdigest()[:12]}:"


class Attempts(Protocol):
    def allow(self, *keys: str) -> bool:
        """Spend one attempt of each key; False if any had none left."""


class RedisAttemptLimiter:
    """Buckets shared through Redis (`prefix` names the deployment and the limit)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        capacity: int,
        per_second: float,
        retry_after_failure: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25
        )
        self._script = self._redis.register_script(_ATTEMPT)
        self._prefix = prefix
        self._capacity = capacity
        self._rate = per_second
        self._retry_after_failure = retry_after_failure
        self._wall = wall
        self._fallback = AttemptLimiter(capacity, per_second)
        self._down_until = 0.0

    def allow(self, *keys: str) -> bool:
        if self._wall() < self._down_until:
            return self._fallback.allow(*keys)
        try:
            allowed = self._script(
                # Hashed: a key may name someone (an email), and Redis is not the database.
                keys=[self._prefix + hashlib.sha256(key.encode()).hexdigest()[:32] for key in keys],
                args=[self._capacity, self._rate],
            )
        except Exception as exc:
            self._down_until = self._wall() + self._retry_after_failure
            log.warning("Redis unreachable (%s): attempt limits are per process for now", exc)
            return self._fallback.allow(*keys)
        return bool(int(allowed))


def attempt_limiter(
    settings: Settings, *, name: str, capacity: int, per_second: float, now: Callable[[], float]
) -> Attempts:
    """`capacity` attempts per key, refilled at `per_second`: in Redis when configured
    (`name` keeps this limit's keys apart), else in this process (on `now`)."""
    if not settings.redis_url:
        return AttemptLimiter(capacity, per_second, now=now)
    return RedisAttemptLimiter(
        settings.redis_url,
        prefix=f"{redis_prefix(settings)}{name}:",
        capacity=capacity,
        per_second=per_second,
    )
