"""Automations started by outside events: a shop's abandoned cart, a weather feed's "28
degrees", an order shipped. Each event is a trigger of an `event` automation.

Accepting one is fast and does one thing (`accept_triggers`, for the requests arriving
together): check it, store a row, answer. The chore loop then turns stored triggers into
messages (`trigger_sending.process_triggers`) through the same composition, consent rule
and outbox as every other message, at the automation's rate (`per_minute`: the messages'
due times are spaced so, and the worker sends each when it falls due, in the recipient's
daytime for promotional ones).

- The contact is named by id, or by phone; an unknown phone is refused (NotFound)
  unless the caller says `create` (a contact is then created when the trigger is
  processed, subscribed without consent, as any number arriving from outside: the
  consent rule decides what it may receive).
- `data` is a flat object of at most MAX_DATA_FIELDS short values; the template reads it
  as `{{ event.<name> }}`. Every event field the template reads must be in `data` (an
  empty string is a value): a missing one is refused at once, naming it, rather than
  sending "your  is waiting".
- An idempotency key (the API's `Idempotency-Key` header, a shop's webhook id) is
  honoured for IDEMPOTENCY_WINDOW: the same key with the same request finds the stored
  trigger (one message, the same answer); with another request it is refused (Conflict).
- The shop's webhook is signed with a per-automation secret (`hook_secret`). HMAC needs
  the secret itself to verify a signature, so a hash cannot be kept; the secret is not
  stored either: it is derived from the app's secret key (RICHSMS_SECRET_KEY) and the
  automation's random salt, so a copy of the database alone does not give it away, and a
  new salt (`rotate_secret`) replaces it. Changing the app's secret key changes every
  automation's webhook secret (as it ends every UI session).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from richsms.clock import Clock
from richsms.errors import Conflict, InvalidInput, NotFound, RichsmsError
from richsms.settings import Settings
from sender.audience.contacts import ERASED
from sender.audience.models import Contact
from sender.audience.phones import parse_phone
from sender.campaigns.models import Automation, AutomationTrigger
from sender.compose.templates import event_fields

EVENT_KIND: Final = "event"
IDEMPOTENCY_WINDOW: Final = timedelta(hours=24)
MAX_KEY_LENGTH: Final = 255
MAX_DATA_FIELDS: Final = 50
MAX_VALUE_CHARS: Final = 1_000
FIELD_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# A trigger's states: waiting for the chore loop, then one of the three outcomes.
PENDING: Final = "pending"
ENQUEUED: Final = "enqueued"  # its message is in the outbox (see the message's own state)
SKIPPED: Final = "skipped"  # not sent: consent, opt-out, frequency cap (`reason`)
FAILED: Final = "failed"  # its message could not be produced (`reason`)
SIGNATURE_HEADERS: Final = ("x-richsms-hmac-sha256", "x-shopify-hmac-sha256")


# --- The webhook's secret ----------------------------------------------------------------


def new_salt() -> str:
    return secrets.token_hex(16)


def hook_secret(settings: Settings, automation: Automation) -> str:
    """The secret the shop signs the automation's webhook with (see the module docstring)."""
    if automation.hook_salt is None:
        raise InvalidInput("only an event automation has a webhook secret")
    key = settings.secret_key.reveal().encode()
    derived = hmac.new(key, b"automation-hook:" + automation.hook_salt.encode(), hashlib.sha256)
    return "rsk_" + derived.hexdigest()


def sign(secret: str, body: bytes) -> str:
    """The signature of `body` as shops send it: base64 of its HMAC-SHA256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_valid(settings: Settings, automation: Automation, body: bytes, given: str) -> bool:
    """Whether `given` signs `body` with the automation's secret (constant-time)."""
    if automation.hook_salt is None or not given:
        return False
    expected = sign(hook_secret(settings, automation), body)
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def rotate_secret(*, session: Session, automation_id: int) -> Automation:
    """A new webhook secret for the automation; the old one stops working now (flushes)."""
    automation = event_automation(session=session, automation_id=automation_id)
    automation.hook_salt = new_salt()
    session.add(automation)
    session.flush()
    return automation


# --- Accepting a trigger -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    """What starts an event automation for one contact: `contact_id` or `phone` (exactly
    one), `create` a contact for an unknown phone, the event's `data`, and the caller's
    idempotency key."""

    automation_id: int
    contact_id: int | None = None
    phone: str | None = None
    create: bool = False
    data: Mapping[str, object] | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    trigger: AutomationTrigger
    replayed: bool  # an earlier request with the same key; nothing new was stored


def event_automation(*, session: Session, automation_id: int) -> Automation:
    automation = session.get(Automation, automation_id)
    if automation is None:
        raise NotFound(f"no automation with id {automation_id}")
    if automation.kind != EVENT_KIND:
        raise InvalidInput(
            f"automation {automation_id} is a {automation.kind} automation: only an event "
            "automation is started by outside events"
        )
    return automation


def checked_data(data: Mapping[str, object] | None, reads: Sequence[str]) -> dict[str, object]:
    """The event's data as stored: a flat object of short values holding every field the
    template `reads`. InvalidInput names the field at fault (`data.x`)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be an object of named values")
    if len(data) > MAX_DATA_FIELDS:
        raise InvalidInput(f"data has {len(data)} fields: at most {MAX_DATA_FIELDS}")
    clean: dict[str, object] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            raise InvalidInput(
                f"data.{str(name)[:64]}: a field's name is a letter or _ then letters, "
                "digits or _ (at most 64)"
            )
        if isinstance(value, str):
            if len(value) > MAX_VALUE_CHARS:
                raise InvalidInput(f"data.{name}: at most {MAX_VALUE_CHARS} characters")
        elif value is not None and not isinstance(value, bool | int | float):
            raise InvalidInput(f"data.{name}: a text, a number, true, false or null")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
            raise InvalidInput(f"data.{name}: the number is too large")
        clean[name] = value
    missing = [name for name in reads if name not in clean]
    if missing:
        raise InvalidInput(
            f"data.{missing[0]} is missing: the automation's message reads "
            + ", ".join(f"event.{name}" for name in missing)
        )
    return clean


def _request_hash(contact_id: int | None, phone: str | None, create: bool, data: object) -> str:
    canonical = json.dumps([contact_id, phone, create, data], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def accept_triggers(
    *, session: Session, clock: Clock, settings: Settings, requests: Sequence[TriggerRequest]
) -> list[Accepted | RichsmsError]:
    """Check triggers and store them in the caller's transaction (flushes), each with its
    own outcome: accepted (or found again by its idempotency key), or the error that
    refuses it (InvalidInput, NotFound, Conflict) while the others are stored. Reads come
    first, set-based, then one insert: the API stores the requests arriving together in
    one transaction this way (web/trigger_commits.py)."""
    now = clock.now()
    wanted = {r.automation_id for r in requests}
    automations = {
        a.id: a for a in session.scalars(select(Automation).where(col(Automation.id).in_(wanted)))
    }
    checked: list[_Checked | RichsmsError] = []
    for request in requests:
        try:
            checked.append(_check(request, automations.get(request.automation_id), settings))
        except RichsmsError as exc:
            checked.append(exc)
    valid = [c for c in checked if isinstance(c, _Checked)]
    ids = {c.request.contact_id for c in valid if c.request.contact_id is not None}
    phones = {c.phone for c in valid if c.phone is not None}
    statuses: dict[int, str] = {}
    if ids:
        query = select(col(Contact.id), col(Contact.status)).where(col(Contact.id).in_(ids))
        statuses = {int(i): str(status) for i, status in session.execute(query)}
    by_phone: dict[str, int] = {}
    if phones:
        numbers = select(col(Contact.phone), col(Contact.id)).where(col(Contact.phone).in_(phones))
        by_phone = {str(phone): int(i) for phone, i in session.execute(numbers)}
    earlier = _earlier(session, [(c.automation_id, c.key) for c in valid if c.key is not None])
    results: list[Accepted | RichsmsError | _Checked] = []
    stale: list[int] = []
    rows: dict[tuple[int, str], AutomationTrigger] = {}  # keyed rows of this batch
    for item in checked:
        if isinstance(item, RichsmsError):
            results.append(item)
            continue
        try:
            key = (item.automation_id, item.key) if item.key is not None else None
            found = earlier.get(key) if key is not None else None
            if found is not None and found.received_at < now - IDEMPOTENCY_WINDOW:
                assert found.id is not None
                stale.append(found.id)  # its key is free again: this trigger takes it
                del earlier[key]
            elif found is not None:
                results.append(Accepted(_same_request(found, item.digest), replayed=True))
                continue
            if key is not None and key in rows:  # sent twice in one batch: one row
                results.append(item)
                continue
            contact_id = _contact_id(item, statuses, by_phone)
        except RichsmsError as exc:
            results.append(exc)
            continue
        row = AutomationTrigger(
            automation_id=item.automation_id,
            contact_id=contact_id,
            phone=item.phone if contact_id is None else None,
            data=item.data,
            idempotency_key=item.key,
            request_hash=item.digest if item.key is not None else None,
            received_at=now,
        )
        if key is not None:
            rows[key] = row
        item.row = row
        results.append(item)
    _insert(session, [r for r in results if isinstance(r, _Checked) and r.row is not None], stale)
    outcomes: list[Accepted | RichsmsError] = []
    for result in results:
        if not isinstance(result, _Checked):
            outcomes.append(result)
        elif result.row is not None:
            outcomes.append(result.stored or Accepted(result.row, replayed=False))
        else:  # the same key as a row of this batch
            first = rows[(result.automation_id, result.key or "")]
            try:
                outcomes.append(Accepted(_same_request(first, result.digest), replayed=True))
            except Conflict as exc:
                outcomes.append(exc)
    return outcomes


@dataclass(slots=True)
class _Checked:
    """A trigger request whose own values passed the checks."""

    request: TriggerRequest
    automation_id: int
    key: str | None
    phone: str | None
    data: dict[str, object]
    digest: str
    row: AutomationTrigger | None = None
    stored: Accepted | RichsmsError | None = None  # what storing it met, if not plain


def _check(
    request: TriggerRequest, automation: Automation | None, settings: Settings
) -> _Checked:
    key = request.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} characters")
    if automation is None:
        raise NotFound(f"no automation with id {request.automation_id}")
    if automation.kind != EVENT_KIND:
        raise InvalidInput(
            f"automation {automation.id} is a {automation.kind} automation: only an event "
            "automation is started by outside events"
        )
    if not automation.active:
        raise Conflict(f"automation {automation.id} is paused")
    if (request.contact_id is None) == (request.phone is None):
        raise InvalidInput("give exactly one of contact_id or phone")
    phone = None
    if request.phone is not None:
        phone = parse_phone(request.phone, region=settings.default_region).e164
    data = checked_data(request.data, event_fields(automation.template))
    assert automation.id is not None
    return _Checked(
        request,
        automation.id,
        key,
        phone,
        data,
        _request_hash(request.contact_id, phone, request.create, data),
    )


def _contact_id(
    item: _Checked, statuses: Mapping[int, str], by_phone: Mapping[str, int]
) -> int | None:
    """The contact's id; None for a phone whose contact is created when processed."""
    contact_id = item.request.contact_id
    if contact_id is not None:
        if statuses.get(contact_id, ERASED) == ERASED:
            raise NotFound(f"no contact {contact_id}")
        return contact_id
    assert item.phone is not None
    found = by_phone.get(item.phone)
    if found is not None:
        return found
    if not item.request.create:
        raise NotFound(f'no contact with the phone {item.phone}: send "create": true to add it')
    return None


def _earlier(
    session: Session, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str] | None, AutomationTrigger]:
    """The triggers stored under these (automation, key), however old."""
    if not keys:
        return {}
    found = session.scalars(
        select(AutomationTrigger).where(
            col(AutomationTrigger.automation_id).in_({a for a, _ in keys}),
            col(AutomationTrigger.idempotency_key).in_({k for _, k in keys}),
        )
    )
    return {(t.automation_id, t.idempotency_key or ""): t for t in found}


def _same_request(earlier: AutomationTrigger, digest: str | None) -> AutomationTrigger:
    if earlier.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was used in the last 24 hours for a different request: "
            "use a new key for a new event"
        )
    return earlier


def _insert(session: Session, items: list[_Checked], stale: list[int]) -> None:
    """Free the stale keys, then insert the rows at once. Another transaction may have
    stored one of these keys meanwhile (a request sent twice at the same moment to two
    processes): then each row is inserted on its own, and one that finds its key taken
    answers with that trigger (`stored`)."""
    if stale:
        session.execute(
            update(AutomationTrigger)
            .where(col(AutomationTrigger.id).in_(stale))
            .values(idempotency_key=None)
        )
    rows = [item.row for item in items if item.row is not None]
    if not rows:
        return
    try:
        with session.begin_nested():
            ids = session.scalars(_INSERT, [_values(row) for row in rows]).all()
        for row, new_id in zip(rows, ids, strict=True):
            row.id = new_id
        return
    except IntegrityError:
        pass
    for item in items:
        assert item.row is not None
        row = item.row
        try:
            with session.begin_nested():
                row.id = session.scalars(_INSERT, [_values(row)]).one()
        except IntegrityError:
            taken = (
                _earlier(session, [(row.automation_id, row.idempotency_key)])
                if row.idempotency_key is not None
                else {}
            )
            found = next(iter(taken.values()), None)
            if found is None:
                item.stored = Conflict(f"automation {row.automation_id} was just deleted")
                continue
            try:
                item.stored = Accepted(_same_request(found, item.digest), replayed=True)
            except Conflict as exc:
                item.stored = exc


# One statement for a batch (executemany, the ids back in the rows' order).
_INSERT = insert(AutomationTrigger).returning(
    col(AutomationTrigger.id), sort_by_parameter_order=True
)


def _values(row: AutomationTrigger) -> dict[str, object]:
    return {
        "automation_id": row.automation_id,
        "contact_id": row.contact_id,
        "phone": row.phone,
        "data": row.data,
        "idempotency_key": row.idempotency_key,
        "request_hash": row.request_hash,
        "state": row.state,
        "received_at": row.received_at,
    }


# --- Turning triggers into messages -----------------------------------------------------


def find_trigger(*, session: Session, automation_id: int, trigger_id: int) -> AutomationTrigger:
    trigger = session.get(AutomationTrigger, trigger_id)
    if trigger is None or trigger.automation_id != automation_id:
        raise NotFound(f"no trigger {trigger_id} of automation {automation_id}")
    return trigger
