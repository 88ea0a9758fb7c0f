"""A poller of the hot path: a coroutine kept running on the event loop (the link cache
reading link changes, the miss limiter learning who other processes blocked) until it is
stopped, which cancels it and waits for it to end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any


class Polling:
    def __init__(self, poll: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._poll = poll
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
