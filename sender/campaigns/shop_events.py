"""A shop's webhook as a trigger: which contact a Shopify-style payload (an order, an
abandoned checkout, a customer) is about, and which of its values the message reads.

- The contact: the first phone found in `phone`, `customer.phone`,
  `billing_address.phone`, `shipping_address.phone` (created if new: the shop knows its
  customer; the consent rule still decides what may be sent); without a phone, the
  contact whose custom field `customer_id` holds the payload's `customer.id` (or its
  `customer_id`); neither: InvalidInput.
- The data: only the event fields the automation's message reads, looked up in the
  payload flattened one level (`total_price`, `customer_first_name` for
  `customer.first_name`, `abandoned_checkout_url`), long texts cut to MAX_VALUE_CHARS.
  The rest of the payload is not kept.
- The shop's own delivery id (`X-Shopify-Webhook-Id`, or `X-Richsms-Webhook-Id`) is the
  idempotency key: a webhook the shop delivers again sends nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlmodel import Session, col, select

from richsms.errors import InvalidInput
from sender.audience.models import Contact
from sender.campaigns.triggers import (
    FIELD_NAME,
    MAX_KEY_LENGTH,
    MAX_VALUE_CHARS,
    TriggerRequest,
    event_automation,
)
from sender.compose.templates import event_fields

PHONE_PLACES: Final = (
    ("phone",),
    ("customer", "phone"),
    ("billing_address", "phone"),
    ("shipping_address", "phone"),
)
CUSTOMER_FIELD: Final = "customer_id"  # the contacts' custom field holding the shop's id
DELIVERY_HEADERS: Final = ("x-shopify-webhook-id", "x-richsms-webhook-id")


def _at(payload: Mapping[str, object], path: tuple[str, ...]) -> object:
    value: object = payload
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def flattened(payload: Mapping[str, object]) -> dict[str, object]:
    """The payload's values one level deep: `customer.first_name` → `customer_first_name`."""
    flat: dict[str, object] = {}
    for name, value in payload.items():
        if isinstance(value, Mapping):
            for inner, item in value.items():
                flat.setdefault(f"{name}_{inner}", item)
        else:
            flat[name] = value
    return flat


def shop_trigger(
    *,
    session: Session,
    automation_id: int,
    payload: Mapping[str, object],
    headers: Mapping[str, str],
) -> TriggerRequest:
    """The trigger a shop's webhook asks for (reads only)."""
    automation = event_automation(session=session, automation_id=automation_id)
    flat = flattened(payload)
    data: dict[str, object] = {}
    for name in event_fields(automation.template):
        value = flat.get(name)
        if name not in flat or not FIELD_NAME.match(name):
            continue  # refused by accept_triggers, naming the field
        if isinstance(value, str):
            value = value[:MAX_VALUE_CHARS]
        elif value is not None and not isinstance(value, bool | int | float):
            value = str(value)[:MAX_VALUE_CHARS]
        data[name] = value
    key = next((headers[h] for h in DELIVERY_HEADERS if headers.get(h)), None)
    if key is not None:
        key = key[:MAX_KEY_LENGTH]
    for place in PHONE_PLACES:
        phone = _at(payload, place)
        if isinstance(phone, str) and phone.strip():
            return TriggerRequest(
                automation_id=automation_id,
                phone=phone,
                create=True,
                data=data,
                idempotency_key=key,
            )
    customer = _at(payload, ("customer", "id"))
    if customer is None:
        customer = payload.get("customer_id")
    if isinstance(customer, str | int) and not isinstance(customer, bool):
        having = col(Contact.fields)[CUSTOMER_FIELD].as_string() == str(customer)
        found = session.exec(select(col(Contact.id)).where(having)).first()
        if found is not None:
            return TriggerRequest(
                automation_id=automation_id, contact_id=int(found), data=data, idempotency_key=key
            )
        raise InvalidInput(
            f"no phone in the payload, and no contact has {customer} in its "
            f"{CUSTOMER_FIELD} field"
        )
    raise InvalidInput(
        "no phone in the payload (phone, customer.phone, billing_address.phone, "
        "shipping_address.phone) and no customer.id"
    )
