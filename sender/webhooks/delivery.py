"""Delivering webhooks from their own outbox, with retries, off every hot path.

A delivery is claimed (its next attempt pushed past the request's timeout, so that a
second process does not take it meanwhile), posted outside any transaction, then
recorded: a 2xx answer delivers it; anything else (an error status, a refused
connection, a timeout) schedules the next attempt with exponential back-off, until
`MAX_ATTEMPTS`, after which it is `failed` with the last error kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.events import DELIVERED, GAVE_UP, PENDING, Webhook, WebhookDelivery
from sender.webhooks.events import SIGNATURE_HEADER, collect_events, sign

log = logging.getLogger("richsms.webhooks")

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
TIMEOUT = 10.0
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
    lease = now + timedelta(seconds=TIMEOUT * 3)
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


def _post(client: httpx.Client, claimed: _Claimed, now: datetime) -> str | None:
    """None when the receiver took it (2xx), else why not."""
    body = claimed.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "richsms-webhooks/1",
        SIGNATURE_HEADER: sign(claimed.secret, body, now),
        "Richsms-Event": claimed.event,
        "Richsms-Delivery": str(claimed.id),
    }
    try:
        answer = client.post(claimed.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return None
    return f"HTTP {answer.status_code}"


def deliver_due(
    *, engine: Engine, clock: Clock, client: httpx.Client, limit: int = CLAIM_BATCH
) -> tuple[int, int]:
    """One pass over the due deliveries; returns (delivered, failed attempts)."""
    now = clock.now()
    claimed = _claim(engine, now, limit)
    done: list[tuple[_Claimed, str | None]] = []
    failed: list[tuple[_Claimed, str | None]] = []
    for item in claimed:
        error = _post(client, item, clock.now())
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


def new_client() -> httpx.Client:
    # Redirects are not followed: a receiver that moved must be re-registered, and a
    # redirect must not carry a signed body to a host the marketer never named.
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


def run_webhooks(*, engine: Engine, clock: Clock, client: httpx.Client) -> int:
    """The chore: turn what happened into events (catching up in bounded passes), then
    deliver what is due. Returns how many deliveries succeeded."""
    for _ in range(50):
        with Session(engine) as session, session.begin():
            if not collect_events(session=session, clock=clock):
                break
    delivered = 0
    for _ in range(20):
        done, failed = deliver_due(engine=engine, clock=clock, client=client)
        delivered += done
        if done + failed < CLAIM_BATCH:
            break
    return delivered
