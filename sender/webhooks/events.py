"""Webhooks: a marketer's URL told of clicks, redemptions, opt-outs, replies and receipts.

Events reach a webhook's outbox (`webhook_delivery`) two ways, neither on the redirect's
path: the domain functions that change state in a transaction (a redemption, a receipt)
call the core's `richsms.events.emit_event` in that same transaction, so the event exists
exactly when the change does; append-only logs written at high rate (clicks, opt-outs,
replies) are read after the fact by `collect_events`, from a cursor per source, in
bounded batches. A webhook hears only what happens after it was registered.

Each delivery is signed like Stripe's: header `Richsms-Signature: t=<unix time>,
v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>`; a receiver recomputes
it and refuses a timestamp older than a few minutes (`verify_signature`), so a captured
request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.db import get_or_not_found
from richsms.errors import InvalidInput
from richsms.events import (
    CLICK,
    EVENT_TYPES,
    OPT_OUT,
    REPLY,
    Webhook,
    WebhookDelivery,
    emit_events,
)
from sender.audience.models import ConsentEvent
from sender.delivery.models import ChoiceReply, InboundMessage
from sender.webhooks.addresses import Unresolvable, destination
from sender.webhooks.models import EventCursor
from shortener.models import Click, Link
from shortener.targets import build_target

SIGNATURE_HEADER = "Richsms-Signature"
SIGNATURE_TOLERANCE = 300  # seconds a receiver should accept between signing and receipt
MAX_WEBHOOKS = 50
COLLECT_BATCH = 2_000
SETTLE = timedelta(seconds=10)


# --- Subscriptions


def create_webhook(
    *,
    session: Session,
    clock: Clock,
    url: str,
    events: Sequence[str],
    allow_private: bool = False,
) -> Webhook:
    """Register `url` for `events`; the returned webhook's secret is shown only now. Its
    host must resolve to public addresses only, unless `allow_private` (see `addresses`)."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise InvalidInput(
            f"events must be some of {', '.join(EVENT_TYPES)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    target = build_target(url)  # the same checks as a link's target: http(s), a real host
    try:
        destination(target, allow_private=allow_private)
    except Unresolvable:
        pass  # no address yet (a name still to publish): each delivery resolves and checks
    count = session.execute(select(func.count()).select_from(Webhook)).scalar_one()
    if count >= MAX_WEBHOOKS:
        raise InvalidInput(f"at most {MAX_WEBHOOKS} webhooks; delete one first")
    webhook = Webhook(
        url=target,
        events=sorted(set(events)),
        secret="whsec_" + secrets.token_hex(24),
        created_at=clock.now(),
    )
    session.add(webhook)
    _start_cursors_now(session)
    session.flush()
    return webhook


def list_webhooks(*, session: Session) -> list[Webhook]:
    return list(session.execute(select(Webhook).order_by(col(Webhook.id))).scalars())


def delete_webhook(*, session: Session, webhook_id: int) -> None:
    webhook = get_or_not_found(session, Webhook, webhook_id, f"no webhook {webhook_id}")
    session.execute(
        WebhookDelivery.__table__.delete().where(  # type: ignore[attr-defined]
            col(WebhookDelivery.webhook_id) == webhook_id
        )
    )
    session.delete(webhook)
    session.flush()


# --- Signing


def sign(secret: str, body: bytes, at: datetime) -> str:
    timestamp = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, now: datetime, tolerance: int = SIGNATURE_TOLERANCE
) -> bool:
    """What a receiver does: the signature matches and is recent (no replay)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    stamp = parts.get("t", "")
    if not (stamp.isascii() and stamp.isdigit()) or "v1" not in parts:
        return False
    if abs(now.timestamp() - int(stamp)) > tolerance:
        return False
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(digest.hexdigest(), parts["v1"])


# --- Events read after the fact


def _click(row: Row[*tuple[Any, ...]]) -> dict[str, Any] | None:
    i, at, bot, contact, code, campaign, is_test = row
    if is_test:  # a campaign's test send: read, not sent
        return None
    return {
        "id": f"click_{i}",
        "at": at,
        "human": not bot,
        "contact_id": contact,
        "link": code,
        "campaign_id": campaign,
    }


def _opt_out(row: Row[*tuple[Any, ...]]) -> dict[str, Any] | None:
    i, kind, contact, source, at = row
    if kind != "opt_out":  # the consent log holds opt-ins too; they are read, not sent
        return None
    return {"id": f"optout_{i}", "at": at, "contact_id": contact, "via": source}


def _reply(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    i, at, contact, campaign, keyword, text, choice = row
    return {
        "id": f"reply_{i}",
        "at": at,
        "contact_id": contact,
        "campaign_id": campaign,
        "keyword": keyword,
        "text": text,
        # The reply choice it matched, when its message offered choices.
        "choice": choice,
    }


@dataclass(frozen=True)
class _Source:
    """A log read after the fact: its cursor's name, the event it yields, the rows it reads
    (the table's id first, the row's time at index `at`) and the payload of one row (None
    for a row read but not sent)."""

    name: str
    event: str
    id_column: Any
    query: Select[*tuple[Any, ...]]
    at: int
    payload: Callable[[Row[*tuple[Any, ...]]], dict[str, Any] | None]


_SOURCES = (
    _Source(
        "click",
        CLICK,
        col(Click.id),
        select(
            col(Click.id),
            col(Click.clicked_at),
            col(Click.is_bot),
            col(Click.contact_id),
            col(Link.code),
            col(Link.campaign_id),
            col(Link.is_test),
        ).join(Link, col(Link.id) == col(Click.link_id)),
        1,
        _click,
    ),
    _Source(
        "consent_event",
        OPT_OUT,
        col(ConsentEvent.id),
        select(
            col(ConsentEvent.id),
            col(ConsentEvent.kind),
            col(ConsentEvent.contact_id),
            col(ConsentEvent.source),
            col(ConsentEvent.at),
        ),
        4,
        _opt_out,
    ),
    _Source(
        "inbound_message",
        REPLY,
        col(InboundMessage.id),
        select(
            col(InboundMessage.id),
            col(InboundMessage.received_at),
            col(InboundMessage.contact_id),
            col(InboundMessage.campaign_id),
            col(InboundMessage.keyword),
            col(InboundMessage.text),
            col(ChoiceReply.choice),
        ).outerjoin(ChoiceReply, col(ChoiceReply.inbound_id) == col(InboundMessage.id)),
        1,
        _reply,
    ),
)


def _start_cursors_now(session: Session) -> None:
    """Cursors at the newest row, so a first webhook is not flooded with the past."""
    for source in _SOURCES:
        cursor = session.get(EventCursor, source.name)
        if cursor is None:
            newest = session.execute(select(func.max(source.id_column))).scalar_one()
            session.add(EventCursor(source=source.name, last_id=int(newest or 0)))


def collect_events(*, session: Session, clock: Clock, batch: int = COLLECT_BATCH) -> int:
    """Turn new clicks, opt-outs and replies into deliveries; returns how many rows of
    the logs were read. Call repeatedly until it returns 0 to catch up."""
    has_hooks = session.execute(select(func.count()).select_from(Webhook)).scalar_one()
    if not has_hooks:
        return 0
    read = 0
    # Several processes append to these logs: a row may commit a moment after one with a
    # higher id. Rows younger than SETTLE are left for the next pass, so none is skipped.
    settled = clock.now() - SETTLE
    for source in _SOURCES:
        cursor = session.get(EventCursor, source.name, with_for_update=True)
        if cursor is None:
            cursor = EventCursor(source=source.name, last_id=0)
            session.add(cursor)
        found = _read(session, source, cursor.last_id, batch, settled)
        if found:
            payloads = [p for p in map(source.payload, found) if p is not None]
            emit_events(session=session, now=clock.now(), event=source.event, payloads=payloads)
            read += len(found)
            cursor.last_id = int(found[-1][0])
    session.flush()
    return read


def _settled(rows: Sequence[Any], at: int, settled: datetime) -> Sequence[Any]:
    """The rows, in id order, up to the first one not yet settled."""
    for index, row in enumerate(rows):
        if row[at] > settled:
            return rows[:index]
    return rows


def _read(
    session: Session, source: _Source, after: int, batch: int, settled: datetime
) -> Sequence[Row[*tuple[Any, ...]]]:
    """The source's next rows after `after`, in id order, up to the first not yet settled."""
    found = session.execute(
        source.query.where(source.id_column > after).order_by(source.id_column).limit(batch)
    ).all()
    return _settled(found, source.at, settled)
