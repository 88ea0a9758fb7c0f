"""Where every provider hands receipts and inbound messages: the database.

The one way in, whatever carried them: `receive` handles what a provider read (each
receipt through `store_receipts`, idempotent: one received twice counts once; each
inbound message through `receive_inbound`: stored and acted on, or kept for review when
it cannot be read, never dropped, never refused). The HTTP provider's webhooks
(web/hooks/providers.py) call
`receive` in the request's unit of work; a running provider (SMPP, console) calls
`DatabaseEvents`, which implements `ProviderEvents` over the same functions. Each of its
calls returns once the event is committed, so the provider may acknowledge it to the
network afterwards. Its database work runs in a thread, never on the event loop that
carries the provider's traffic.

The database thread is the default executor's, or the one the worker gives (`run_on`):
the thread recording its answers, so that a receipt and its answer never commit at the
same moment without seeing each other (sender/delivery/worker.py); on SQLite, where writers take
turns anyway, the one thread of all the worker's writes, none of which then sleeps in
SQLite's busy handler waiting for the lock another holds.

Receipts are group-committed: those handed over while a transaction is being written
wait for the next one, so a burst of receipts (an SMSC flushing its queue, the console
provider reporting a batch delivered) costs a few transactions, not one each.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.db import session_scope
from richsms.settings import Settings
from sender.delivery.inbound import handle_inbound, keyword_of, opt_out_request
from sender.delivery.models import InboundMessage
from sender.delivery.providers.base import Inbound, Receipt
from sender.delivery.receipts import forget_pending, store_receipts

log = logging.getLogger("richsms.receipts")

T = TypeVar("T")
# Receipts written in one transaction when they stream in, and how long the first of
# them waits for the others (it is acknowledged to the network already, or repeated).
RECEIPT_GROUP = 500
RECEIPT_LINGER = 0.02
# What `receive_inbound` answers for a message it had already.
DUPLICATE = "duplicate"


class DatabaseEvents:
    """See the module docstring. `settings` gives the inbound handler its default
    region and replies (the defaults when not given)."""

    def __init__(self, engine: Engine, clock: Clock, settings: Settings | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings or Settings.from_mapping({})
        self._waiting: list[tuple[Sequence[Receipt], asyncio.Future[None]]] = []
        self._waiting_count = 0
        self._writer: asyncio.Task[None] | None = None
        self._executor: Executor | None = None

    def run_on(self, executor: Executor) -> None:
        """Do the database work on `executor` from now on."""
        self._executor = executor

    async def _in_db(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    async def receipt(self, receipt: Receipt) -> None:
        await self.receipt_batch([receipt])

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        if not receipts:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((receipts, done))
        self._waiting_count += len(receipts)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_receipts())
        await done

    async def _write_receipts(self) -> None:
        while self._waiting:
            if self._waiting_count < RECEIPT_GROUP:
                # A transaction costs about as much as a hundred receipts in it: while
                # receipts stream in, wait a moment for more to share it.
                await asyncio.sleep(RECEIPT_LINGER)
            batch, self._waiting, self._waiting_count = self._waiting, [], 0
            try:
                await self._in_db(self._store, [r for receipts, _ in batch for r in receipts])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    def _store(self, receipts: list[Receipt]) -> None:
        with self.engine.begin() as conn:
            outcomes = store_receipts(conn, receipts, now=self.clock.now())
        pending = outcomes.count("pending")
        if pending:
            log.debug("%d receipts came before their submit answer: kept pending", pending)

    async def inbound(self, message: Inbound) -> None:
        await self._in_db(self._inbound, message)

    def _inbound(self, message: Inbound) -> None:
        with session_scope(self.engine) as session:
            receive_inbound(
                session=session, clock=self.clock, settings=self.settings, message=message
            )

    def forget_pending(self, *, received_before: datetime) -> int:
        """Drop pending receipts older than `received_before` (no answer ever claimed
        them); returns how many."""
        with self.engine.begin() as conn:
            return forget_pending(conn, received_before=received_before)


def receive(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    receipts: Sequence[Receipt] = (),
    inbound: Sequence[Inbound] = (),
) -> list[str]:
    """What a provider read, handled as every provider's events are (flushes only): what
    each receipt did (`applied`, `duplicate`, `pending`, `ignored`), then what each inbound
    message did (its action: `unreadable` for one kept for review)."""
    outcomes: list[str] = []
    if receipts:
        session.flush()
        outcomes += store_receipts(session.connection(), receipts, now=clock.now())
    for message in inbound:
        outcomes.append(
            receive_inbound(session=session, clock=clock, settings=settings, message=message)
        )
    return outcomes


def receive_inbound(
    *, session: Session, clock: Clock, settings: Settings, message: Inbound
) -> str:
    """Store one inbound message and act on its keyword (flushes only); the action taken,
    `duplicate` for a message already received (a provider's retry, a replayed request:
    it acts once). A message that cannot be read is kept for review (`unreadable`), and
    acts for the contact whose number it is, if any (sender.delivery.inbound)."""
    ref = inbound_ref(message)
    if _received(session, ref):
        return DUPLICATE
    try:
        with session.begin_nested():
            handled = handle_inbound(
                session=session,
                phone=message.phone,
                to=message.to,
                text=text_of(message),
                clock=clock,
                settings=settings,
                received_at=message.at,
                provider_ref=ref,
                never_refuse=True,  # it would only be handed over again, forever
            )
    except IntegrityError:
        if _received(session, ref):  # a copy handled at the same moment won the race
            return DUPLICATE
        raise
    return handled.action


def inbound_ref(message: Inbound) -> str:
    """What names an inbound message for its provider: the provider's own id, else a
    digest of who sent what to which number, when (to the second)."""
    if message.provider_id:
        return f"{message.provider}:{message.provider_id}"[:120]
    carried = "\x1f".join(
        (message.phone, message.to, message.text, message.at.replace(microsecond=0).isoformat())
    )
    return f"{message.provider}#" + hashlib.sha256(carried.encode()).hexdigest()


def _received(session: Session, ref: str) -> bool:
    found = select(col(InboundMessage.id)).where(col(InboundMessage.provider_ref) == ref)
    return session.execute(found).first() is not None


def text_of(message: Inbound) -> str:
    """The text the keyword handler reads. When the network already classified the
    message (an opt-out type) in a way our keywords do not see, its verdict wins."""
    if message.opt_out_type in ("STOP", "START", "HELP"):
        if keyword_of(message.text) is None and opt_out_request(message.text) is None:
            return message.opt_out_type
    return message.text
