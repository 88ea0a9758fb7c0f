"""Twilio's webhooks: status callbacks and inbound messages, checked and read.

`web/hooks/providers.py` hands each POST over as a `WebhookRequest` whose `url` is built from
RICHSMS_BASE_URL; a missing or forged `X-Twilio-Signature` raises `Forbidden` before
anything is read, so nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from richsms.clock import Clock, SystemClock
from richsms.errors import Forbidden, InvalidInput
from richsms.settings import Settings
from sender.delivery.providers.base import (
    Inbound,
    Receipt,
    ReceiptState,
    WebhookRequest,
    WebhookResult,
)
from sender.delivery.providers.twilio_signature import is_valid

STATUS_PATH: Final = "hooks/http/status"
INBOUND_PATH: Final = "hooks/http/inbound"
# Twilio's MessageStatus, in our words. `accepted`, `queued`, `sending` are before the
# carrier; `sent` is with the carrier; `read` is later than delivered (RCS/WhatsApp).
STATUSES: Final[dict[str, ReceiptState]] = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "rejected",
    "canceled": "rejected",
}
EMPTY_TWIML: Final = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class TwilioWebhooks:
    provider = "http"

    def __init__(self, auth_token: str, *, clock: Clock | None = None) -> None:
        self._token = auth_token
        self._clock = clock or SystemClock()

    def _check(self, request: WebhookRequest) -> dict[str, str]:
        given = next(
            (v for k, v in request.headers.items() if k.lower() == "x-twilio-signature"), ""
        )
        if not is_valid(self._token, request.url, request.form, given):
            raise Forbidden("invalid or missing X-Twilio-Signature", code="bad_signature")
        return dict(request.form)

    def status(self, request: WebhookRequest) -> WebhookResult:
        """A status callback: one receipt for the message's sid."""
        form = self._check(request)
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if not sid or status not in STATUSES:
            raise InvalidInput(f"a status callback needs MessageSid and a known MessageStatus, "
                               f"got {sid!r} / {status!r}")
        state = STATUSES[status]
        code = form.get("ErrorCode", "")
        error = None
        if state not in ("sent", "delivered"):
            error = f"{status}" + (f" (Twilio error {code})" if code else "")
        receipt = Receipt(self.provider, sid, state, self._now(), error)
        return WebhookResult(receipts=(receipt,))

    def inbound(self, request: WebhookRequest) -> WebhookResult:
        """A message a recipient sent; answered with an empty TwiML response (our own
        confirmation, if any, is queued by the keyword handler)."""
        form = self._check(request)
        phone = form.get("From", "")
        if not phone:
            raise InvalidInput("an inbound message needs From")
        message = Inbound(
            provider=self.provider,
            phone=phone,
            to=form.get("To", ""),
            text=form.get("Body", ""),
            at=self._now(),
            provider_id=form.get("MessageSid") or form.get("SmsSid") or None,
            opt_out_type=(form.get("OptOutType") or "").upper() or None,
        )
        return WebhookResult(inbound=(message,), reply_body=EMPTY_TWIML, reply_type="text/xml")

    def _now(self) -> datetime:
        return self._clock.now()


def webhooks(settings: Settings, clock: Clock | None = None) -> TwilioWebhooks:
    return TwilioWebhooks(settings.http_auth_token.reveal(), clock=clock)
