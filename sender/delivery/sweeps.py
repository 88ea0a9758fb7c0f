"""Sweeping the outbox: what a worker finds left behind, and what waited too long.

- At startup on SQLite (one worker by design) whatever is `sending` was left by a worker
  that died: taken over at once (leases.py: unknown if it may have been handed over,
  queued again if not). On PostgreSQL other workers may be alive: a worker's claims are
  taken over once its heartbeat lease has run out.
- Every so often: planned or queued messages that waited past the expiry expire; claims
  older than the lease become unknown (never resent); receipts that waited far too long
  for a submit answer are forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from sender.delivery import leases, outbox
from sender.delivery.receipts import forget_pending, reconcile_pending

log = logging.getLogger("richsms.worker")

Lost = list[tuple[int, str | None]]  # (message id, the worker that claimed it)


def recover(engine: Engine, now: datetime, alive_for: timedelta) -> Lost:
    """What a dead worker left `sending` (SQLite only; see above): unknown if it may
    have been handed over, queued again otherwise."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.begin() as conn:
        taken = leases.take_over(conn, now, alive_for=alive_for, everyone=True)
    _report(taken, "found at startup")
    return taken.unknown


def take_over(engine: Engine, now: datetime, alive_for: timedelta) -> Lost:
    """The claims of workers whose lease ran out: unknown if they may have been handed
    over, queued again otherwise (sender/delivery/leases.py)."""
    with engine.begin() as conn:
        taken = leases.take_over(conn, now, alive_for=alive_for)
    _report(taken, f"their worker's lease of {alive_for} ran out")
    return taken.unknown


def _report(taken: leases.TakenOver, why: str) -> None:
    if taken.queued:
        log.warning(
            "%d messages claimed by a dead worker and never handed over queued again, %s",
            len(taken.queued),
            why,
        )
    report_unknown(taken.unknown, why)


def sweep(
    engine: Engine,
    now: datetime,
    *,
    expiry: timedelta,
    lease: timedelta,
    pending_receipts_kept: timedelta,
) -> tuple[list[int], Lost]:
    """One sweep, in one transaction; returns the messages expired and those lost."""
    with engine.begin() as conn:
        expired = outbox.expire_overdue(conn=conn, now=now, expiry=expiry)
        lost = outbox.mark_unknown(conn=conn, now=now, claimed_before=now - lease)
        reconciled = reconcile_pending(conn)
        forget_pending(conn, received_before=now - pending_receipts_kept)
    if reconciled:
        log.info("%d receipts applied late (they had crossed their submit answer)", reconciled)
    if expired:
        log.info("%d messages expired (not sent within %s)", len(expired), expiry)
    report_unknown(lost, f"lease of {lease} ran out")
    return expired, lost


def report_unknown(lost: Sequence[tuple[int, str | None]], why: str) -> None:
    if not lost:
        return
    shown = ", ".join(f"{i} (by {worker})" for i, worker in lost[:20])
    more = f" and {len(lost) - 20} more" if len(lost) > 20 else ""
    log.warning(
        "%d messages marked unknown, %s: handed to the provider with no answer recorded, "
        "never resent: %s%s",
        len(lost),
        why,
        shown,
        more,
    )
