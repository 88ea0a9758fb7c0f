"""Where a worker's work runs besides its event loop: its database threads ("lanes"), and
the event loop itself.

Claims, answers and handovers (with the heartbeat) each have a thread of their own on
PostgreSQL, so that their round trips overlap; receipts are written on the answers'
thread, so that a receipt and its answer never commit at the same moment without seeing
each other. On SQLite, where writers take turns anyway, one thread carries them all and
none waits on the lock; there a handover note goes before whatever else is waiting for
that thread, as it holds the provider's next handful back (sender/delivery/handover.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Lane = Literal["claims", "answers", "handovers"]
URGENT: tuple[Lane, ...] = ("handovers",)


class DatabaseLanes:
    def __init__(self, dialect: str) -> None:
        self._shared: OneThread | None = OneThread() if dialect == "sqlite" else None
        self._threads: dict[Lane, Executor] = {}

    def executor(self, lane: Lane) -> Executor:
        if lane not in self._threads:
            if self._shared is not None:
                self._threads[lane] = self._shared.lane(urgent=lane in URGENT)
            else:
                self._threads[lane] = ThreadPoolExecutor(
                    1, thread_name_prefix=f"richsms-worker-{lane}"
                )
        return self._threads[lane]

    async def run(self, lane: Lane, work: Callable[..., T], *args: Any) -> T:
        """Run synchronous database work on `lane`'s thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor(lane), work, *args)

    def close(self, *, wait: bool = True) -> None:
        for executor in self._threads.values():
            executor.shutdown(wait=wait)
        self._threads.clear()
        if self._shared is not None:
            self._shared.shutdown(wait=wait)


Work = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...]]


class OneThread:
    """One thread running the work of several lanes, the urgent lanes' first."""

    def __init__(self) -> None:
        self._queues: tuple[deque[Work], deque[Work]] = (deque(), deque())  # urgent, rest
        self._ready = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def lane(self, *, urgent: bool) -> Executor:
        return _Lane(self, urgent)

    def submit(self, urgent: bool, fn: Callable[..., T], args: tuple[Any, ...]) -> Future[T]:
        future: Future[T] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the worker's database thread is shut down")
            self._queues[0 if urgent else 1].append((future, fn, args))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="richsms-worker-database", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not (self._queues[0] or self._queues[1] or self._closed):
                    self._ready.wait()
                queue = self._queues[0] if self._queues[0] else self._queues[1]
                if not queue:  # closed, nothing left
                    return
                future, fn, args = queue.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()


class _Lane(Executor):
    def __init__(self, thread: OneThread, urgent: bool) -> None:
        self._thread = thread
        self._urgent = urgent

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if kwargs:
            return self._thread.submit(self._urgent, lambda: fn(*args, **kwargs), ())
        return self._thread.submit(self._urgent, fn, args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass  # the thread is shut down with its lanes (DatabaseLanes.close)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's where it runs: a provider library answering from its own threads wakes
    the loop once per answer, and uvloop's wake-up costs about half of asyncio's (one
    SMPP bind: 2,250 messages/s with receipts against 1,900, bench/smpp)."""
    try:
        import uvloop
    except ImportError:  # not built for this platform
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
