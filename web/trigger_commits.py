"""Group commit for the triggers the API accepts: many requests, one transaction.

Accepting a trigger is a few indexed reads and one insert; a transaction of its own for
each would cap a web process at what the database commits per second, and each would
cross to the threadpool. So requests hand their trigger to `TriggerCommits`, which
checks and stores whatever has gathered in one unit of work (`accept_triggers`: reads
first, set-based, then one insert) while the next requests gather for the following
one, then answers each request with its own outcome. A request is answered only once
its row is committed: a 202 is never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from richsms.clock import Clock
from richsms.db import session_scope
from richsms.errors import RichsmsError
from richsms.settings import Settings
from sender.campaigns.triggers import Accepted, TriggerRequest, accept_triggers

# Triggers per transaction at most: the write lock is free again within milliseconds.
MAX_BATCH: Final = 200

Outcomes = list[Accepted | RichsmsError]


class TriggerCommits:
    """Checks and stores triggers in shared units of work, in the threadpool, reading
    without the write lock and taking it at the insert (as `AppContext.in_session`)."""

    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self._engine = engine
        self._clock = clock
        self._settings = settings
        self._waiting: list[tuple[TriggerRequest, asyncio.Future[Accepted]]] = []
        self._writing = False

    async def accept(self, request: TriggerRequest) -> Accepted:
        """`request` stored (or found again by its key) once committed; else its error."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Accepted] = loop.create_future()
        self._waiting.append((request, answer))
        if not self._writing:
            self._writing = True
            loop.create_task(self._write())
        return await answer

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                await self._commit(batch)
        finally:
            self._writing = False

    async def _commit(
        self, batch: Sequence[tuple[TriggerRequest, asyncio.Future[Accepted]]]
    ) -> None:
        requests = [request for request, _ in batch]

        def work() -> Outcomes:
            with session_scope(self._engine, lock_at_first_write=True) as session:
                return accept_triggers(
                    session=session, clock=self._clock, settings=self._settings, requests=requests
                )

        try:
            results = await run_in_threadpool(work)
        except Exception as exc:  # the transaction failed: every request of it says so
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), result in zip(batch, results, strict=True):
            if answer.done():
                continue  # its request went away
            if isinstance(result, RichsmsError):
                answer.set_exception(result)
            else:
                answer.set_result(result)
