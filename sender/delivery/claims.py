"""A worker's claim: one transaction that takes a batch of due messages of one group
(a campaign, or none, and a sender) out of the queue for one worker.

In order: the group's route (its buckets, its sender number), the buckets locked and
refilled, a small batch of due messages locked (FOR UPDATE SKIP LOCKED), their recipients
re-read; those outside their quiet hours are pushed to the next allowed instant, those
the consent rule or the sender number refuse are skipped, those that waited too long
expire, those that would take their recipient past the campaign's frequency cap (counted
again now, recipients locked: sender/delivery/frequency_caps.py) are skipped, and at most
as many as there are tokens become `sending`, with the provider and the sender number that
carry them. The caller commits; only then may it hand them over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlmodel import col

from richsms.errors import InvalidInput
from sender.audience.consent import current_recipients, message_refusal
from sender.campaigns.models import Campaign
from sender.delivery import outbox
from sender.delivery.frequency_caps import (
    CAPPED_TYPE,
    COUNTED_AT_CLAIM,
    REASON,
    FrequencyCap,
    campaign_cap,
    capped_among,
    lock_contacts,
)
from sender.delivery.outbox import DueMessage
from sender.delivery.rate import Route, lock_budget, route_for
from sender.delivery.windows import next_allowed


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What a worker claims with: who it is, what carries the messages, and its limits."""

    worker_id: str
    provider: str
    batch_size: int
    default_rate: float
    burst: float
    expiry: timedelta
    # The account's frequency cap (None: no cap unless a campaign sets its own).
    frequency_cap: FrequencyCap | None = None


@dataclass
class Claim:
    """The messages now `sending` for this worker, and what else the claim found."""

    messages: list[DueMessage]
    route: Route
    found: bool  # a due message was found (even if none could be claimed)
    wait: float | None = None  # seconds until the buckets hold a token again
    deferred: int = 0
    skipped: int = 0
    expired: int = 0


def claim(
    conn: Connection, *, campaign_id: int | None, sender: str, now: datetime, rules: ClaimRules
) -> Claim:
    """See the module docstring; runs in the caller's transaction."""
    route = route_for(conn, campaign_id, sender, default_rate=rules.default_rate)
    if route.paused:
        return Claim([], route, True)
    budget = lock_budget(conn, route.limits, now, rules.burst)
    available = min(budget.available, rules.batch_size)
    if available == 0:
        return Claim([], route, True, wait=budget.wait())
    due = outbox.lock_due(
        conn=conn, now=now, campaign_id=campaign_id, sender=sender, limit=rules.batch_size
    )
    if not due:
        return Claim([], route, False)
    result = _sort(conn, due, route, now, rules.expiry)
    result.messages = result.messages[:available]
    _cap(conn, result, campaign_id, now, rules.frequency_cap)
    outbox.mark_sending(
        conn=conn,
        ids=[m.id for m in result.messages],
        now=now,
        worker_id=rules.worker_id,
        provider=rules.provider,
        sender=route.sender,
        sender_number_id=route.number_id,
    )
    budget.spend(conn, len(result.messages))
    if len(result.messages) == available and budget.available == 0:
        result.wait = budget.wait()
    return result


def _sort(
    conn: Connection, due: list[DueMessage], route: Route, now: datetime, expiry: timedelta
) -> Claim:
    """Expire, defer and skip what may not go now (in this transaction); the rest, in
    order, are the claim's messages."""
    by_id, by_phone = current_recipients(
        conn,
        contact_ids={m.contact_id for m in due if m.contact_id is not None},
        phones={m.phone for m in due if m.contact_id is None and not m.is_test},
    )
    sendable: list[DueMessage] = []
    deferrals: list[tuple[int, datetime]] = []
    skips: list[tuple[int, str]] = []
    expired: list[int] = []
    too_late = now - expiry
    for m in due:
        if m.waiting_since < too_late:
            expired.append(m.id)
            continue
        recipient = by_id.get(m.contact_id) if m.contact_id is not None else None
        if m.contact_id is None and not m.is_test:
            recipient = by_phone.get(m.phone)
        zones = (m.timezones or (recipient.timezones if recipient else "")).split()
        try:
            when = next_allowed(now, zones, m.window)
        except InvalidInput as exc:
            skips.append((m.id, f"quiet hours: {exc.message}"))
            continue
        if when > now:
            if when - m.waiting_since > expiry:
                expired.append(m.id)
            else:
                deferrals.append((m.id, when))
            continue
        reason = message_refusal(
            type=m.type,
            is_test=m.is_test,
            contact=(recipient.status, recipient.consent_type) if recipient else None,
            known=m.contact_id is not None,
        )
        if reason is None and route.allowed_types and m.type not in route.allowed_types:
            reason = f"the sender {route.sender} may not carry {m.type} messages"
        if reason is not None:
            skips.append((m.id, reason))
            continue
        sendable.append(m)
    outbox.defer(conn=conn, deferrals=deferrals)
    outbox.skip(conn=conn, skips=skips)
    if expired:
        hours = expiry.total_seconds() / 3600
        outbox.expire(
            conn=conn, ids=expired, now=now, reason=outbox.EXPIRED_REASON.format(hours=hours)
        )
    return Claim(
        sendable,
        route,
        True,
        deferred=len(deferrals),
        skipped=len(skips),
        expired=len(expired),
    )


def _cap(
    conn: Connection,
    claim: Claim,
    campaign_id: int | None,
    now: datetime,
    account: FrequencyCap | None,
) -> None:
    """Skip the claim's messages that would take their recipient past their campaign's
    frequency cap (the account's for a promotion of no campaign: a unitary send, an
    automation's), counting what was handed over by now (the recipients locked first, so
    that a concurrent claim of another campaign counts this one's once it commits)."""
    if not claim.messages:
        return
    if campaign_id is None:
        type, cap = CAPPED_TYPE, account
    else:
        found = conn.execute(
            select(col(Campaign.type), col(Campaign.frequency_cap)).where(
                col(Campaign.id) == campaign_id
            )
        ).first()
        if found is None:
            return
        type, stored = found
        cap = campaign_cap(stored, type=type, account=account)
    if cap is None:
        return
    held = [m for m in claim.messages if m.contact_id and not m.is_test and m.type == type]
    contacts = [m.contact_id for m in held if m.contact_id is not None]
    lock_contacts(conn, contacts)
    stopped = capped_among(conn, cap, {now: contacts}, COUNTED_AT_CLAIM)
    skips = [(m.id, REASON) for m in held if m.contact_id in stopped]
    if skips:
        outbox.skip(conn=conn, skips=skips)
        dropped = {i for i, _ in skips}
        claim.messages = [m for m in claim.messages if m.id not in dropped]
        claim.skipped += len(skips)
