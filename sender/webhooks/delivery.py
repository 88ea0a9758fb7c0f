"""Delivering webhooks from their own outbox, with retries, off every hot path.

A pass claims a batch of due deliveries (their next attempt pushed past the deadline, so
that a second process does not take them meanwhile), posts them concurrently outside any
transaction, each within a total DEADLINE (resolving, connecting, sending, the answer's
headers and body together: a receiver that drips a byte at a time is cut off), then
records them: a 2xx answer delivers one; anything else (an error status, a refused
connection, the deadline) schedules its next attempt with exponential back-off, until
`MAX_ATTEMPTS`, after which it is `failed` with the last error kept. The host is resolved
and checked at each delivery, and the connection made to the checked address
(`addresses`). The webhooks run in a loop of their own (`sender.chores.webhook_loop`), so
that no receiver delays planning or sending.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.errors import InvalidInput
from richsms.events import DELIVERED, GAVE_UP, PENDING, Webhook, WebhookDelivery
from sender.webhooks.addresses import destination
from sender.webhooks.events import SIGNATURE_HEADER, collect_events, sign

log = logging.getLogger("richsms.webhooks")

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
DEADLINE = 15.0  # seconds for one delivery, from resolving its host to the last byte
CONCURRENCY = 16
CLAIM_BATCH = 50


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min… at most 6 h: about two days of tries in all."""
    delay: timedelta = FIRST_RETRY * (2 ** min(20, max(0, attempts - 1)))
    return min(LONGEST_RETRY, delay)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    event: str
    payload: str
    attempts: int
    url: str
    secret: str


def _claim(engine: Engine, now: datetime, limit: int) -> list[_Claimed]:
    lease = now + timedelta(seconds=DEADLINE * 3)
    with Session(engine) as session, session.begin():
        rows = session.execute(
            select(
                col(WebhookDelivery.id),
                col(WebhookDelivery.event),
                col(WebhookDelivery.payload),
                col(WebhookDelivery.attempts),
                col(Webhook.url),
                col(Webhook.secret),
            )
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .where(
                col(WebhookDelivery.state) == PENDING,
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).all()
        claimed = [_Claimed(int(r[0]), r[1], r[2], int(r[3]) + 1, r[4], r[5]) for r in rows]
        if claimed:
            session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_([c.id for c in claimed]))
                .values(next_attempt_at=lease, attempts=WebhookDelivery.attempts + 1)
            )
    return claimed


async def _post(
    client: httpx.AsyncClient, claimed: _Claimed, now: datetime, allow_private: bool
) -> str | None:
    """None when the receiver took it (2xx), else why not."""
    body = claimed.payload.encode()
    try:
        to = await asyncio.to_thread(destination, claimed.url, allow_private=allow_private)
    except InvalidInput as exc:
        return exc.message[:500]
    headers = {
        "Host": to.host,
        "Content-Type": "application/json",
        "User-Agent": "richsms-webhooks/1",
        SIGNATURE_HEADER: sign(claimed.secret, body, now),
        "Richsms-Event": claimed.event,
        "Richsms-Delivery": str(claimed.id),
    }
    host = to.host.rsplit(":", 1)[0] if not to.host.endswith("]") else to.host
    request = client.build_request(
        "POST", to.url, content=body, headers=headers, extensions={"sni_hostname": host}
    )
    try:
        answer = await client.send(request)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return None
    return f"HTTP {answer.status_code}"


async def _post_all(
    claimed: list[_Claimed], now: datetime, allow_private: bool, deadline: float
) -> list[str | None]:
    gate = asyncio.Semaphore(CONCURRENCY)
    # Redirects are not followed: a receiver that moved must be re-registered, and a
    # redirect must not carry a signed body to a host the marketer never named.
    async with httpx.AsyncClient(timeout=deadline, follow_redirects=False) as client:

        async def one(item: _Claimed) -> str | None:
            async with gate:
                try:
                    return await asyncio.wait_for(
                        _post(client, item, now, allow_private), deadline
                    )
                except TimeoutError:
                    return f"no complete answer within {deadline:g} s"

        return await asyncio.gather(*(one(item) for item in claimed))


def deliver_due(
    *,
    engine: Engine,
    clock: Clock,
    allow_private: bool = False,
    limit: int = CLAIM_BATCH,
    deadline: float = DEADLINE,
) -> tuple[int, int]:
    """One pass over the due deliveries, posted concurrently, each within `deadline`
    seconds; returns (delivered, failed attempts)."""
    now = clock.now()
    claimed = _claim(engine, now, limit)
    if not claimed:
        return 0, 0
    errors = asyncio.run(_post_all(claimed, clock.now(), allow_private, deadline))
    done: list[tuple[_Claimed, str | None]] = []
    failed: list[tuple[_Claimed, str | None]] = []
    for item, error in zip(claimed, errors, strict=True):
        (done if error is None else failed).append((item, error))
    with Session(engine) as session, session.begin():
        if done:
            session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id).in_([item.id for item, _ in done]))
                .values(state=DELIVERED, delivered_at=clock.now(), last_error=None)
            )
        for item, error in failed:
            final = item.attempts >= MAX_ATTEMPTS
            session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == item.id)
                .values(
                    state=GAVE_UP if final else PENDING,
                    next_attempt_at=now + backoff(item.attempts),
                    last_error=error,
                )
            )
            if final:
                log.warning("webhook delivery %d gave up after %d attempts: %s",
                            item.id, item.attempts, error)
    return len(done), len(failed)


def run_webhooks(*, engine: Engine, clock: Clock, allow_private: bool = False) -> int:
    """The chore: turn what happened into events (catching up in bounded passes), then
    deliver what is due. Returns how many deliveries succeeded."""
    for _ in range(50):
        with Session(engine) as session, session.begin():
            if not collect_events(session=session, clock=clock):
                break
    delivered = 0
    for _ in range(20):
        done, failed = deliver_due(engine=engine, clock=clock, allow_private=allow_private)
        delivered += done
        if done + failed < CLAIM_BATCH:
            break
    return delivered
