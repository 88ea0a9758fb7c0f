"""Requests arriving together, served by one trip to the threadpool and one unit of work.

A request that needs the database for a few indexed rows pays far more for its own trip
to the threadpool, its own connection and its own transaction than for the rows: under
load, that overhead caps a web process. `GroupWork` gathers what requests ask while the
previous group is being served, hands the whole group to one function (set-based: one
query for all, one commit) and answers each request with its own outcome, an answer or
the error that refuses it. A request alone is served at once, as it would be without the
grouping; nobody waits for a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

Asked = TypeVar("Asked")
Answer = TypeVar("Answer")


class GroupWork(Generic[Asked, Answer]):
    """`await work(asked)`: `serve(group)` returns one outcome per asked item, in order
    (an exception instance is raised to that item's caller alone); if `serve` itself
    raises, every caller of the group gets that error."""

    def __init__(
        self,
        serve: Callable[[Sequence[Asked]], Sequence[Answer | Exception]],
        *,
        most: int,
    ) -> None:
        self._serve = serve
        self._most = most  # items per group at most: each group's transaction stays brief
        self._waiting: list[tuple[Asked, asyncio.Future[Answer]]] = []
        self._serving = False

    async def __call__(self, asked: Asked) -> Answer:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((asked, answer))
        if not self._serving:
            self._serving = True
            loop.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._most]
                del self._waiting[: self._most]
                await self._answer(group)
        finally:
            self._serving = False

    async def _answer(self, group: Sequence[tuple[Asked, asyncio.Future[Answer]]]) -> None:
        try:
            outcomes = await run_in_threadpool(self._serve, [asked for asked, _ in group])
        except Exception as exc:  # the group's unit of work failed: each caller hears it
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), outcome in zip(group, outcomes, strict=True):
            if answer.done():
                continue  # its request went away
            if isinstance(outcome, Exception):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)
