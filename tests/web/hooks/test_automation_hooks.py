"""A shop's signed webhook starts an event automation (web/hooks/shops.py,
sender/campaigns/shop_events.py): signed with the automation's secret it sends, forged or
unsigned it is refused with a 401 and stores nothing."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.contacts import create_contact
from sender.campaigns.models import AutomationTrigger
from sender.campaigns.triggers import sign
from tests.clock import FrozenClock
from tests.sender.campaigns.test_triggers import automation, marketer, messages, process

__all__ = ["marketer"]  # the fixture

CART = "{{ event.customer_first_name }}, votre panier de {{ event.total_price }} € vous attend"
ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "total_price": "199.00",
    "customer": {"id": 115310627314723954, "first_name": "Léa", "phone": "+33 6 12 34 56 78"},
    "line_items": [{"title": "Vélo", "quantity": 1}],
}


def trigger_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(AutomationTrigger)) or 0)


def post(
    client: TestClient, url: str, body: bytes, signature: str | None, **headers: str
) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if signature is not None:
        sent["X-Shopify-Hmac-Sha256"] = signature
    return client.post(url, content=body, headers=sent)


def test_a_forged_signature_is_refused_and_a_valid_one_sends(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    cart = automation(marketer, CART, "informational")
    url, secret = cart["webhook_url"].removeprefix("https://pages.ex.co"), cart["webhook_secret"]
    assert url == f"/hooks/automations/{cart['id']}" and secret.startswith("rsk_")
    assert "webhook_secret" not in marketer.get("/api/automations").json()["automations"][0]
    body = json.dumps(ORDER).encode()
    public = TestClient(marketer.app, raise_server_exceptions=False)  # no token: public

    for signature in (
        None,
        "",
        sign("rsk_" + "0" * 64, body),  # another secret
        sign(secret, body + b" "),  # another body
        sign(secret, body)[:-4],
    ):
        refused = post(public, url, body, signature)
        assert refused.status_code == 401, refused.text
        assert "X-Richsms-Hmac-Sha256" in refused.json()["error"]["message"]
    # Nobody learns which automations exist: an unknown one answers the same.
    assert post(public, "/hooks/automations/999", body, sign(secret, body)).status_code == 401
    assert trigger_count(engine) == 0

    delivery = {"X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}
    accepted = post(public, url, body, sign(secret, body), **delivery)
    assert accepted.status_code == 202, accepted.text
    # The shop delivers it again (it did not read our answer in time): nothing more.
    again = post(public, url, body, sign(secret, body), **delivery)
    assert again.status_code == 202 and again.json() == accepted.json()
    assert process(engine, clock, settings) == 1
    [sent] = messages(engine)
    assert sent.phone == "+33612345678"
    assert sent.text == "Léa, votre panier de 199.00 € vous attend"
    with Session(engine) as session:
        [stored] = session.scalars(select(AutomationTrigger))
        # Only what the message reads is kept of the shop's payload.
        assert stored.data == {"customer_first_name": "Léa", "total_price": "199.00"}

    # A new secret: the old one stops working at once.
    rotated = marketer.post(f"/api/automations/{cart['id']}/webhook/secret").json()
    assert rotated["webhook_secret"] != secret
    assert marketer.get(f"/api/automations/{cart['id']}/webhook").json() == rotated
    assert post(public, url, body, sign(secret, body)).status_code == 401
    fresh = post(public, url, body, sign(rotated["webhook_secret"], body))
    assert fresh.status_code == 202


def test_the_shops_customer_id_names_a_contact_without_a_phone(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with session_scope(engine) as session:
        create_contact(
            session=session,
            phone="+33698765432",
            clock=clock,
            region="FR",
            fields={"customer_id": "115310627314723954"},
        )
    cart = automation(marketer, CART, "informational")
    url, secret = f"/hooks/automations/{cart['id']}", cart["webhook_secret"]
    no_phone = {**ORDER, "customer": {"id": 115310627314723954, "first_name": "Jo"}}
    body = json.dumps(no_phone).encode()
    assert post(marketer, url, body, sign(secret, body)).status_code == 202
    assert process(engine, clock, settings) == 1
    assert [m.phone for m in messages(engine)] == ["+33698765432"]

    stranger = json.dumps({**no_phone, "customer": {"id": 7, "first_name": "X"}}).encode()
    unknown = post(marketer, url, stranger, sign(secret, stranger))
    assert unknown.status_code == 422 and "customer_id" in unknown.json()["error"]["message"]
    short = json.dumps({"customer": {"phone": "+33611111111"}}).encode()
    lacking = post(marketer, url, short, sign(secret, short))
    assert lacking.status_code == 422 and "data.customer_first_name" in lacking.text
    not_json = b"{nope"
    assert post(marketer, url, not_json, sign(secret, not_json)).status_code == 400


def test_a_flood_of_forged_webhooks_is_cut_off(
    marketer: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    cart = automation(marketer, CART, "informational")
    url, body = f"/hooks/automations/{cart['id']}", json.dumps(ORDER).encode()
    answers = [post(marketer, url, body, "forged").status_code for _ in range(201)]
    assert answers[:200] == [401] * 200  # a shop's burst passes (200 at once)
    limited = post(marketer, url, body, sign(cart["webhook_secret"], body))
    assert answers[200] == limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert trigger_count(engine) == 0
