"""`POST /hooks/http/status` and `POST /hooks/http/inbound`: the HTTP provider's webhooks.

Outside the /api bearer auth: each request is authenticated by its provider signature,
checked by the provider's own webhook parser (a bad one raises Forbidden: 403, nothing
stored). The URL signed is the public one, from RICHSMS_BASE_URL, so that a proxy in
front does not break signatures. What the parser read goes to the provider-events sink
(`receive`, sender/delivery/provider_events.py), the one way in for receipts and inbound
messages of every provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from urllib.parse import parse_qsl

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from sender.delivery.provider_events import receive
from sender.delivery.providers import webhooks_for
from sender.delivery.providers.base import WebhookRequest, WebhookResult
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
    ctx = context(request)
    parser = webhooks_for("http", ctx.settings, ctx.clock)
    assert parser is not None, "the http provider has webhooks"
    return parser  # type: ignore[return-value]


async def _hand_over(request: Request, result: WebhookResult) -> list[str]:
    """What each receipt and inbound message did, once committed."""
    ctx = context(request)

    def work(session: Session) -> list[str]:
        return receive(
            session=session,
            clock=ctx.clock,
            settings=ctx.settings,
            receipts=result.receipts,
            inbound=result.inbound,
        )

    return await ctx.in_session(work)


def _webhook(
    path: str,
    summary: str,
    read: Callable[[HttpWebhooks, WebhookRequest], WebhookResult],
    answer: Callable[[WebhookResult, list[str]], Response],
) -> None:
    """Declares the webhook posted at `path`: signed and read by the provider's parser
    (`read`), handed over, then answered from what it held and what each of its receipts
    and inbound messages did."""

    async def receive_webhook(request: Request) -> Response:
        result = read(_parser(request), await _webhook_request(request, path))
        return answer(result, await _hand_over(request, result))

    hooks.post("/" + path, summary, errors=(403, 413, 422))(receive_webhook)


def _outcomes(_result: WebhookResult, outcomes: list[str]) -> Response:
    # Twilio reads only the status code; the outcome ("applied", "duplicate") helps logs.
    return Response(" ".join(outcomes), media_type="text/plain")


def _reply(result: WebhookResult, _outcomes: list[str]) -> Response:
    return Response(result.reply_body, media_type=result.reply_type)


_webhook(
    STATUS_PATH,
    "A Twilio status callback (form fields, X-Twilio-Signature).",
    lambda parser, request: parser.status(request),
    _outcomes,
)
_webhook(
    INBOUND_PATH,
    "An inbound SMS from Twilio (form fields, X-Twilio-Signature); answers TwiML.",
    lambda parser, request: parser.inbound(request),
    _reply,
)
