"""The http provider against a Twilio-shaped server on loopback, and Twilio signatures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator

from richsms.errors import Forbidden
from sender.delivery.providers.base import OutgoingMessage, SubmitResult, WebhookRequest
from sender.delivery.providers.http import HttpConfig, HttpProvider
from sender.delivery.providers.twilio_signature import signature
from sender.delivery.providers.twilio_webhooks import TwilioWebhooks
from tests.clock import FrozenClock
from tests.sender.delivery.providers.peers import RecordingEvents, free_port
from tests.sender.delivery.providers.twilio_server import SID, TOKEN, TwilioServer

CALLBACK = "https://sms.example.com/hooks/http/status"


def config(base_url: str, **changes: object) -> HttpConfig:
    options: dict[str, object] = {
        "base_url": base_url,
        "account_sid": SID,
        "auth_token": TOKEN,
        "status_callback": CALLBACK,
        "messaging_service_sid": "MG0123",
        "window": 4,
        "read_timeout": 0.5,
        "backoff_initial": 0.5,
        "retry_once_pause": 0.01,
    }
    options.update(changes)
    return HttpConfig(**options)  # type: ignore[arg-type]


def message(id: int, phone: str, sender: str = "+15005550006") -> OutgoingMessage:
    return OutgoingMessage(id, phone, sender, "long_code", f"Bonjour {id}", "promotional",
                           "GSM-7", 1)


def send(provider: HttpProvider, messages: list[OutgoingMessage]) -> dict[int, SubmitResult]:
    async def scenario() -> list[SubmitResult]:
        results: list[SubmitResult] = []
        await provider.start(RecordingEvents())
        await provider.submit(messages, results.append)
        await provider.close()
        return results

    results = asyncio.run(scenario())
    assert len(results) == len(messages)
    return {r.message_id: r for r in results}


def test_each_answer_of_the_api_maps_to_one_outcome() -> None:
    with TwilioServer() as api:
        messages = [
            message(1, "+33612345678"),
            message(2, "+15005550001"),
            message(3, "+15005550009"),
            message(4, "+15005550007"),
            message(5, "+15005550003"),
            message(6, "+15005550008"),
            message(7, "+15005550429"),
            message(8, "+15005550500"),
            message(9, "+15005550404"),
            message(10, "+33698765432", sender=""),
        ]
        results = send(HttpProvider(config(api.base_url)), messages)
        assert results[1].state == "accepted" and results[1].provider_ids[0].startswith("SM")
        assert (results[2].state, results[2].opted_out) == ("failed", False)
        assert "21211" in (results[2].error or "")
        assert (results[3].state, results[3].opted_out) == ("failed", True)
        assert results[4].state == "failed" and "30007" in (results[4].error or "")
        assert results[5].state == "accepted"  # 30003 once, then accepted
        assert results[6].state == "failed" and "30008" in (results[6].error or "")
        assert results[7].state == "retry" and (results[7].retry_after or 0) >= 2
        assert results[8].state == "retry" and (results[8].retry_after or 0) > 0
        assert results[9].state == "unknown"  # read by the API, never answered
        assert results[10].state == "accepted"
        assert api.seen["+15005550003"] == 2 and api.seen["+15005550008"] == 2
        assert api.seen["+15005550404"] == 1  # never sent again
        first = api.requests[0] if api.requests[0]["To"] == "+33612345678" else next(
            r for r in api.requests if r["To"] == "+33612345678"
        )
        assert first == {
            "To": "+33612345678",
            "From": "+15005550006",
            "Body": "Bonjour 1",
            "StatusCallback": CALLBACK,
        }
        no_sender = next(r for r in api.requests if r["To"] == "+33698765432")
        assert no_sender["MessagingServiceSid"] == "MG0123" and "From" not in no_sender


def test_an_api_that_cannot_be_reached_gets_the_message_back_to_retry() -> None:
    results = send(HttpProvider(config(f"http://127.0.0.1:{free_port()}")), [message(1, "+1")])
    assert results[1].state == "retry"


def request_for(url: str, form: list[tuple[str, str]], signed: str | None) -> WebhookRequest:
    headers = {} if signed is None else {"X-Twilio-Signature": signed}
    return WebhookRequest(url=url, headers=headers, form=form)


def test_our_signature_is_the_official_one() -> None:
    validator = RequestValidator(TOKEN)
    form = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("To", "+33612345678"),
            ("AccountSid", SID), ("Body", "é ü & = +")]
    ours = signature(TOKEN, CALLBACK, form)
    assert ours == validator.compute_signature(CALLBACK, dict(form))
    assert validator.validate(CALLBACK, dict(form), ours)


@pytest.mark.parametrize(
    ("status", "state"),
    [("queued", "sent"), ("sending", "sent"), ("sent", "sent"), ("delivered", "delivered"),
     ("undelivered", "undelivered"), ("failed", "rejected")],
)
def test_signed_status_callbacks_become_receipts(status: str, state: str) -> None:
    clock = FrozenClock(datetime(2026, 12, 1, tzinfo=UTC))
    hooks = TwilioWebhooks(TOKEN, clock=clock)
    form = [("MessageSid", "SM42"), ("MessageStatus", status), ("ErrorCode", "30005")]
    signed = RequestValidator(TOKEN).compute_signature(CALLBACK, dict(form))
    result = hooks.status(request_for(CALLBACK, form, signed))
    [receipt] = result.receipts
    assert (receipt.provider, receipt.provider_id, receipt.state, receipt.at) == (
        "http", "SM42", state, clock.now()
    )
    assert (receipt.error is None) == (state in ("sent", "delivered"))


def test_forged_or_missing_signatures_are_refused() -> None:
    hooks = TwilioWebhooks(TOKEN)
    form = [("MessageSid", "SM42"), ("MessageStatus", "delivered")]
    forged = RequestValidator("another-token").compute_signature(CALLBACK, dict(form))
    for signed in (forged, None, ""):
        with pytest.raises(Forbidden):
            hooks.status(request_for(CALLBACK, form, signed))
    good = signature(TOKEN, CALLBACK, form)
    other_url = CALLBACK.replace("sms.example.com", "proxy.internal")
    with pytest.raises(Forbidden):  # signed for the public URL only
        hooks.status(request_for(other_url, form, good))
    with pytest.raises(Forbidden):  # a changed parameter
        hooks.status(request_for(CALLBACK, [("MessageSid", "SM43"), form[1]], good))


def test_inbound_webhooks_carry_the_opt_out_type() -> None:
    hooks = TwilioWebhooks(TOKEN)
    url = "https://sms.example.com/hooks/http/inbound"
    form = [("From", "+33612345678"), ("To", "+15005550006"), ("Body", "Arrêt"),
            ("MessageSid", "SM7"), ("OptOutType", "STOP")]
    result = hooks.inbound(request_for(url, form, signature(TOKEN, url, form)))
    [inbound] = result.inbound
    assert (inbound.phone, inbound.to, inbound.text, inbound.opt_out_type) == (
        "+33612345678", "+15005550006", "Arrêt", "STOP"
    )
    assert result.reply_type == "text/xml" and "<Response>" in result.reply_body
