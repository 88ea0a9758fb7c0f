"""`POST /hooks/http/status` and `POST /hooks/http/inbound`: the HTTP provider's webhooks.

Outside the /api bearer auth: each request is authenticated by its provider signature,
checked by the provider's own webhook parser (a bad one raises Forbidden: 403, nothing
stored). The URL signed is the public one, from RICHSMS_BASE_URL, so that a proxy in
front does not break signatures. Receipts go through `record_receipt` (idempotent: a
callback received twice counts once) and inbound messages through the keyword handler.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol
from urllib.parse import parse_qsl

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from sender.delivery.inbound import handle_inbound, keyword_of, opt_out_request
from sender.delivery.providers import webhooks_for
from sender.delivery.providers.base import Inbound, WebhookRequest, WebhookResult
from sender.delivery.receipts import record_receipt
from web.bodies import read_body
from web.context import context
from web.openapi import RouteTable

STATUS_PATH = "hooks/http/status"
INBOUND_PATH = "hooks/http/inbound"
MAX_WEBHOOK_BYTES = 64 * 1024
hooks = RouteTable(public=True)  # signed by the provider, outside the /api bearer auth


class HttpWebhooks(Protocol):
    def status(self, request: WebhookRequest) -> WebhookResult: ...

    def inbound(self, request: WebhookRequest) -> WebhookResult: ...


async def _webhook_request(request: Request, path: str) -> WebhookRequest:
    body = await read_body(request, MAX_WEBHOOK_BYTES)
    form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    url = context(request).settings.base_url.rstrip("/") + "/" + path
    return WebhookRequest(url=url, headers=dict(request.headers), form=form, body=body)


def _parser(request: Request) -> HttpWebhooks:
    parser = webhooks_for("http", context(request).settings)
    assert parser is not None, "the http provider has webhooks"
    return parser  # type: ignore[return-value]


def _text_of(message: Inbound) -> str:
    """The text the keyword handler reads. When the network already classified the
    message (Twilio's OptOutType) in a way our keywords do not see, its verdict wins."""
    if message.opt_out_type in ("STOP", "START", "HELP"):
        if keyword_of(message.text) is None and opt_out_request(message.text) is None:
            return message.opt_out_type
    return message.text


async def _record(request: Request, result: WebhookResult) -> list[str]:
    ctx = context(request)
    now = ctx.clock.now()

    def work(session: Session) -> list[str]:
        outcomes: list[str] = []
        for receipt in result.receipts:
            receipt = replace(receipt, at=now)
            outcomes.append(
                record_receipt(
                    session=session,
                    provider=receipt.provider,
                    provider_id=receipt.provider_id,
                    state=receipt.state,
                    at=receipt.at,
                    error=receipt.error,
                )
            )
        for message in result.inbound:
            handled = handle_inbound(
                session=session,
                phone=message.phone,
                to=message.to,
                text=_text_of(message),
                clock=ctx.clock,
                settings=ctx.settings,
                received_at=now,
            )
            outcomes.append(handled.action)
        return outcomes

    return await ctx.in_session(work)


@hooks.post(
    "/" + STATUS_PATH,
    "A Twilio status callback (form fields, X-Twilio-Signature).",
    errors=(403, 413, 422),
)
async def status(request: Request) -> Response:
    result = _parser(request).status(await _webhook_request(request, STATUS_PATH))
    outcomes = await _record(request, result)
    # Twilio reads only the status code; the outcome ("applied", "duplicate") helps logs.
    return Response(" ".join(outcomes), media_type="text/plain")


@hooks.post(
    "/" + INBOUND_PATH,
    "An inbound SMS from Twilio (form fields, X-Twilio-Signature); answers TwiML.",
    errors=(403, 413, 422),
)
async def inbound(request: Request) -> Response:
    result = _parser(request).inbound(await _webhook_request(request, INBOUND_PATH))
    await _record(request, result)
    return Response(result.reply_body, media_type=result.reply_type)

