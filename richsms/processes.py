"""CPU work in processes of its own: the one process pool of richsms.

Python runs one thread at a time in a process: a page render, a JSON document parsed, a
CSV checked or an image resized in a thread of the server still takes the interpreter's
lock from the event loop that answers the short links, for a few milliseconds at a time,
again and again. Such work runs here instead: `run(lane, function, *args)` runs it in a
worker process (started by a forkserver at first use, so it inherits neither the server's
threads nor its open connections) and waits for its result, in the calling thread (never
the event loop: call it from a worker thread). The server's process only sends the inputs
and reads back the result.

Work is sorted into lanes, each with its own processes, so that a long analysis never
queues a page view: `PARSE` (bodies and files read and checked), `RENDER` (page views),
`IMAGES` (resizing), `ANALYSIS` (a template over an audience). Functions run in a lane
must be importable module-level functions, their arguments and results picklable; they
never write to the database (the server's process does, in short transactions its lock
watchdog measures). An exception the work raises is raised again in the caller; one that
cannot cross processes comes back as a RuntimeError telling it. A worker process that dies
(killed, out of memory) fails the calls it was running with `WorkerLost` and the lane
starts afresh for the next ones.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import forkserver
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Engine

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Lane:
    name: str
    workers: int


PARSE = Lane("parse", 1)
RENDER = Lane("render", 2)
IMAGES = Lane("images", 1)
ANALYSIS = Lane("analysis", 1)

class WorkerLost(RuntimeError):
    """The worker process running the call died before answering."""


_pools: dict[str, ProcessPoolExecutor] = {}
_lock = threading.Lock()


def run(lane: Lane, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)` computed in one of `lane`'s processes; blocks the calling
    thread until it answers."""
    pool = _pool(lane)
    try:
        outcome = pool.submit(_call, function, args, kwargs).result()
    except BrokenProcessPool:
        _replace(lane, pool)
        raise WorkerLost(f"a {lane.name} worker process died while working") from None
    try:
        ok, value = pickle.loads(outcome)
    except Exception as exc:  # a result that cannot be rebuilt here
        raise RuntimeError(f"{lane.name}: {type(exc).__name__}: {str(exc)[:500]}") from None
    if not ok:
        raise value
    result: T = value
    return result


def prepare(modules: Sequence[str]) -> None:
    """Start the forkserver now, `modules` imported in it (what the lanes' work needs):
    each worker process forks from it ready, rather than importing all of it at a
    request's first use. Takes effect once, before the first worker starts."""
    with _lock:
        if not _pools:
            multiprocessing.get_context("forkserver").set_forkserver_preload(list(modules))
    forkserver.ensure_running()


def _pool(lane: Lane) -> ProcessPoolExecutor:
    with _lock:
        pool = _pools.get(lane.name)
        if pool is None:
            context = multiprocessing.get_context("forkserver")
            pool = ProcessPoolExecutor(
                max_workers=lane.workers, mp_context=context, initializer=_yielding
            )
            _pools[lane.name] = pool
        return pool


# How much lower than the server's the worker processes' CPU priority is: sharing a core
# with the event loop (a server pinned to one), they take the time it leaves, and a
# redirect's wake-up never waits behind a render's time slice.
NICENESS = 10


def _yielding() -> None:
    """In each worker process, as it starts."""
    os.nice(NICENESS)


def _replace(lane: Lane, broken: ProcessPoolExecutor) -> None:
    with _lock:
        if _pools.get(lane.name) is broken:
            del _pools[lane.name]
    broken.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Every lane's processes stopped (at exit; the next call starts them again)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown)


_engines: dict[str, Engine] = {}


def engine_of(url: str) -> Engine:
    """In a worker process: an engine on the server's database, made once per URL, for
    work that reads it (an analysis over an audience)."""
    from richsms.db import make_engine

    engine = _engines.get(url)
    if engine is None:
        if len(_engines) >= 4:  # a test run's many databases: the oldest let go
            _engines.pop(next(iter(_engines))).dispose()
        engine = _engines[url] = make_engine(url)
    return engine


def url_of(engine: Engine) -> str:
    """What `engine_of` takes to reach `engine`'s database from a worker process."""
    return engine.url.render_as_string(hide_password=False)


def _call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """In the worker: (True, result) or (False, the exception), pickled here, so that
    what cannot cross fails the call alone (never the lane). An exception that cannot
    be rebuilt comes back as a RuntimeError naming it."""
    try:
        return pickle.dumps((True, function(*args, **kwargs)), pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        try:
            blob = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
            pickle.loads(blob)
        except Exception:
            failure = RuntimeError(f"{type(exc).__name__}: {str(exc)[:500]}")
            return pickle.dumps((False, failure), pickle.HIGHEST_PROTOCOL)
        return blob
