"""The automations screen as a marketer uses it (HTTP through the app): an automation
started by outside events is created there, and shows its trigger URL, its webhook URL
and secret (the one that signs a shop's webhook), and gets a new secret on request."""

from __future__ import annotations

import html
import json
import re

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.settings import Settings
from sender.campaigns.triggers import sign
from tests.clock import FrozenClock
from tests.sender.campaigns.test_triggers import contact, messages, process
from tests.web.test_ui import csrf, marketer

__all__ = ["marketer"]  # the signed-in fixture


def secret_on(page: str) -> str:
    found = re.search(r'<code class="webhook-secret">([^<]+)</code>', page)
    assert found is not None, page[:2000]
    return found.group(1)


def test_the_screen_shows_the_trigger_url_and_the_secret_that_signs_the_webhook(
    marketer: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    empty = marketer.get("/ui/automations")
    assert empty.status_code == 200 and "No automation yet." in empty.text
    assert 'href="/ui/automations"' in empty.text  # in the menu
    token = csrf(empty.text)
    refused = marketer.post(
        "/ui/automations",
        data={"csrf": token, "name": "Cart", "type": "informational",
              "template": "Votre {{ event }}"},
    )
    assert refused.status_code == 422
    assert "alone is not a value" in html.unescape(refused.text)
    assert "Votre {{ event }}" in html.unescape(refused.text)  # what was typed is kept
    created = marketer.post(
        "/ui/automations",
        data={"csrf": token, "name": "Cart", "type": "informational", "per_minute": "60",
              "template": "Votre panier de {{ event.total_price }} € vous attend"},
        follow_redirects=True,
    )
    assert created.status_code == 200 and "Automation created." in created.text
    page = created.text
    assert '<code class="trigger-url">https://pages.ex.co/api/automations/1/trigger</code>' in page
    assert '<code class="webhook-url">https://pages.ex.co/hooks/automations/1</code>' in page
    secret = secret_on(page)

    # The secret shown signs the shop's webhook, which sends.
    contact(engine, clock, "+33612345678")
    body = json.dumps({"phone": "+33612345678", "total_price": "42.00"}).encode()
    signed = {"X-Shopify-Hmac-Sha256": sign(secret, body), "Content-Type": "application/json"}
    assert marketer.post("/hooks/automations/1", content=body, headers=signed).status_code == 202
    assert process(engine, clock, settings) == 1
    assert messages(engine)[0].text == "Votre panier de 42.00 € vous attend"

    renewed = marketer.post(
        "/ui/automations/1/secret", data={"csrf": token}, follow_redirects=True
    )
    assert "the old one no longer works" in html.unescape(renewed.text)
    assert secret_on(renewed.text) != secret
    assert marketer.post("/hooks/automations/1", content=body, headers=signed).status_code == 401

    marketer.post("/ui/lang", data={"lang": "fr", "next": "/ui/automations"})
    french = html.unescape(marketer.get("/ui/automations").text)
    assert "URL de déclenchement" in french and "Secret du webhook" in french
