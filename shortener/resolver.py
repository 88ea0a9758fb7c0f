"""Code → redirect target, from an in-process cache that follows changes within seconds.

The redirect cannot afford a database round trip per request. Entries are loaded on a
miss (or preloaded at start) and dropped when the `link_change` log names their link;
each process polls that log every `poll_interval` seconds, so a disabled link stops
redirecting everywhere within about that long. Unknown codes are remembered briefly too,
so a flood of guesses does not become a flood of queries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from richsms.db import READ_ONLY
from shortener.models import Link, LinkChange
from shortener.polling import Polling

log = logging.getLogger("richsms.resolver")


class NotCached(Enum):
    NOT_CACHED = "not cached"


NOT_CACHED = NotCached.NOT_CACHED


class Target(NamedTuple):
    """A tuple of atoms, so that the cyclic GC stops tracking it: a million cached
    entries then cost a full collection nothing (tracked objects there stalled requests)."""

    link_id: int
    contact_id: int | None
    url: str
    expires_at: datetime | None
    disabled: bool
    # A page link answers with the recipient's page (version it was sent with, /p/ token).
    page_id: int | None = None
    page_version: int | None = None
    page_token: str | None = None
    # The campaign the link was sent by: a page's coupons and events are counted for it.
    campaign_id: int | None = None

    def gone(self, now: datetime) -> bool:
        """The one rule for every way in (the short link, /p/, the spin, page events): a
        disabled link, or one past its expiry, serves nothing."""
        return self.disabled or (self.expires_at is not None and self.expires_at <= now)


# A link's target columns, in `Target`'s order (disabled as its time): every reader of a
# target selects these, and `_target` builds the tuple from them.
TARGET_COLUMNS = (
    col(Link.id),
    col(Link.contact_id),
    col(Link.target_url),
    col(Link.expires_at),
    col(Link.disabled_at),
    col(Link.page_id),
    col(Link.page_version),
    col(Link.page_token),
    col(Link.campaign_id),
)


def read_target(db: Connection | Session, where: ColumnElement[bool]) -> Target | None:
    """The target of the one link matching `where` (its code, its page token), or None."""
    row = db.execute(select(*TARGET_COLUMNS).where(where)).first()
    return None if row is None else _target(*row)


class Resolver:
    def __init__(
        self,
        engine: Engine,
        *,
        max_entries: int = 1_000_000,
        poll_interval: float = 1.0,
        miss_ttl: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # Every read here is a read: on SQLite it takes no write lock, so a redirect the
        # cache cannot answer never waits for a writer (richsms.db.READ_ONLY).
        self._engine = engine.execution_options(**{READ_ONLY: True})
        self._max_entries = max_entries
        self._poll_interval = poll_interval
        self._miss_ttl = miss_ttl
        self._monotonic = monotonic
        self._entries: dict[str, Target] = {}
        self._misses: dict[str, float] = {}
        self._last_change = 0
        self._generation = 0  # bumped whenever changes drop entries
        self._polling = Polling(self._poll)

    def cached(self, code: str) -> Target | None | NotCached:
        """The cached target, None for a recent miss, NOT_CACHED when the cache cannot say."""
        target = self._entries.get(code)
        if target is not None:
            return target
        missed = self._misses.get(code)
        if missed is not None and self._monotonic() - missed < self._miss_ttl:
            return None
        return NOT_CACHED

    async def load(self, code: str) -> Target | None:
        """Read a code the cache could not answer for from the database, and cache it."""
        loop = asyncio.get_running_loop()
        generation = self._generation
        target = await loop.run_in_executor(None, self._load, code)
        if generation != self._generation:
            return target  # a change landed while loading: serve it, cache nothing
        if target is None:
            if len(self._misses) >= 100_000:
                self._misses.clear()
            self._misses[code] = self._monotonic()
        else:
            self._remember(code, target)
        return target

    def _remember(self, code: str, target: Target) -> None:
        if len(self._entries) >= self._max_entries:
            # Insertion order approximates age: drop the oldest tenth in one go.
            for old in list(self._entries)[: self._max_entries // 10 or 1]:
                del self._entries[old]
        self._entries[code] = target

    def _load(self, code: str) -> Target | None:
        with self._engine.connect() as conn:
            return read_target(conn, col(Link.code) == code)

    def preload(self, limit: int) -> int:
        """Fill the cache with the most recent links (campaign links are clicked early)."""
        self._last_change = self._latest_change()
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(col(Link.code), *TARGET_COLUMNS)
                .where(col(Link.disabled_at).is_(None))
                .order_by(col(Link.id).desc())
                .limit(min(limit, self._max_entries))
            )
            for code, *rest in rows:
                self._entries[code] = _target(*rest)
        return len(self._entries)

    def _latest_change(self) -> int:
        with self._engine.connect() as conn:
            latest: Any = conn.execute(
                select(func.coalesce(func.max(col(LinkChange.id)), 0))
            ).scalar_one()
            return int(latest)

    def read_changes(self) -> list[tuple[int, str]]:
        """(change id, code) of every link changed since the last applied change."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(col(LinkChange.id), col(Link.code))
                .join(Link, col(Link.id) == col(LinkChange.link_id))
                .where(col(LinkChange.id) > self._last_change)
                .order_by(col(LinkChange.id))
            ).all()
        return [(int(change_id or 0), code) for change_id, code in rows]

    def apply_changes(self, changes: list[tuple[int, str]]) -> None:
        """Drop the changed links' entries. Runs on the event loop, like every cache write."""
        if not changes:
            return
        self._generation += 1
        for change_id, code in changes:
            self._entries.pop(code, None)
            self._last_change = max(self._last_change, change_id)

    def start(self) -> None:
        self._polling.start()

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                self.apply_changes(await loop.run_in_executor(None, self.read_changes))
            except Exception:
                log.exception("could not read link changes; retrying")

    async def stop(self) -> None:
        await self._polling.stop()


def _target(
    link_id: Any,
    contact_id: Any,
    url: Any,
    expires_at: Any,
    disabled_at: Any,
    page_id: Any,
    page_version: Any,
    page_token: Any,
    campaign_id: Any,
) -> Target:
    return Target(
        int(link_id),
        contact_id,
        str(url),
        expires_at,
        disabled_at is not None,
        page_id,
        page_version,
        page_token,
        campaign_id,
    )
