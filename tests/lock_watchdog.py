"""The lock watchdog: a block of a test fails when any write transaction of the engines it
watches held the database longer than the budget (`RICHSMS_WRITE_BUDGET_MS`, 100 ms).

The engine measures every write transaction (`richsms.write_watch`): its wall time and the
CPU time of the thread holding it. The test fails on the CPU time over the budget, which is
what a transaction computes while it holds the lock (rendering, parsing, resizing, planning
done inside it) and does not grow when other processes load the machine; the wall time, which
does, fails only past WALL_FACTOR budgets (a lock held seconds: waiting on something inside the
transaction, or work done by the database server). The watched blocks run the heaviest inputs,
whose offending transactions lasted seconds: both margins are wide of them and of the
milliseconds a short write takes on a loaded machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Engine

from richsms.write_watch import WriteTransaction, write_watch

WALL_FACTOR = 30


class LockWatchdog:
    def __init__(self, budget_ms: float) -> None:
        self.budget_ms = budget_ms

    def over(self, transaction: WriteTransaction) -> bool:
        return (
            transaction.cpu_ms > self.budget_ms
            or transaction.wall_ms > WALL_FACTOR * self.budget_ms
        )

    @contextmanager
    def watching(self, *engines: Engine, label: str = "") -> Iterator[list[WriteTransaction]]:
        """Every write transaction of `engines` ending within the block; on leaving it,
        fails if one was over the budget."""
        seen: list[WriteTransaction] = []
        with ExitStack() as stack:
            for engine in engines:
                stack.enter_context(write_watch(engine).listen(seen.append))
            yield seen
        longest = max(seen, key=lambda t: t.wall_ms, default=None)
        if longest is not None:
            print(
                f"\n[lock watchdog] {label}: {len(seen)} write transactions, longest "
                f"{longest.wall_ms:.1f} ms ({longest.cpu_ms:.1f} ms CPU), opened by "
                f"{longest.opened_by[:80]!r}"
            )
        over = [t for t in seen if self.over(t)]
        assert not over, f"write transactions over {self.budget_ms:.0f} ms: " + "; ".join(
            f"{t.wall_ms:.0f} ms ({t.cpu_ms:.0f} ms CPU) opened by {t.opened_by[:120]!r}"
            for t in sorted(over, key=lambda t: -t.wall_ms)[:5]
        )
