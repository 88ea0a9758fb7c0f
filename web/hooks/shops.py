"""`POST /hooks/automations/{id}`: a shop's signed webhook starts an event automation.

Public (outside the /api bearer auth): each request is authenticated by its signature,
the base64 HMAC-SHA256 of the raw body with the automation's webhook secret, in
`X-Richsms-Hmac-Sha256` or Shopify's `X-Shopify-Hmac-Sha256` (compared in constant
time). A missing or wrong signature, or an automation that is not there or not an event
automation, all get the same 401: the answer tells a stranger nothing. Attempts are
limited per automation and client address (429). What the payload says becomes the same
trigger as `POST /api/automations/{id}/trigger` (sender/campaigns/shop_events.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from richsms.settings import Settings
from sender.campaigns.models import Automation
from sender.campaigns.shop_events import shop_trigger
from sender.campaigns.triggers import SIGNATURE_HEADERS, TriggerRequest, signature_valid
from web.api.automations import TriggerAccepted
from web.attempt_limits import Attempts, attempt_limiter
from web.bodies import parse_json, read_body
from web.context import client_of, context
from web.errors import BadRequest, error_response
from web.openapi import RouteTable

MAX_HOOK_BYTES: Final = 256 * 1024  # a large order with its lines stays well under
BAD_SIGNATURE: Final = (
    "the signature is missing or wrong: send X-Richsms-Hmac-Sha256 (or "
    "X-Shopify-Hmac-Sha256), the base64 HMAC-SHA256 of the raw body with the "
    "automation's webhook secret"
)
hooks = RouteTable(public=True, tags=("automations",))


def hook_limiter(settings: Settings, now: Callable[[], float]) -> Attempts:
    """A bucket per automation and client address: a shop's bursts pass (200 at once,
    then 100 a second), a flood of forged requests does not reach the database."""
    return attempt_limiter(settings, name="hooks", capacity=200, per_second=100, now=now)


@hooks.post(
    "/hooks/automations/{automation_id:int}",
    "A shop's webhook (Shopify-style, signed with the automation's secret) starts an event "
    "automation for the customer it names (202: stored, sent at the automation's rate).",
    response=TriggerAccepted,
    status=202,
    body="application/json",
    errors=(400, 401, 404, 409, 413, 422, 429),
)
async def shop_webhook(request: Request) -> Response:
    ctx = context(request)
    automation_id = int(request.path_params["automation_id"])
    if not ctx.limits.hooks.allow(f"{automation_id}:{client_of(request)}"):
        return error_response(
            429, "rate_limited", "too many requests: try again in a second", {"Retry-After": "1"}
        )
    body = await read_body(request, MAX_HOOK_BYTES)
    given = next((request.headers[h] for h in SIGNATURE_HEADERS if h in request.headers), "")
    headers = {name.lower(): value for name, value in request.headers.items()}

    def read(session: Session) -> TriggerRequest | None:
        automation = session.get(Automation, automation_id)
        if automation is None or not signature_valid(ctx.settings, automation, body, given):
            return None
        payload = parse_json(body)
        if not isinstance(payload, dict):
            raise BadRequest(400, "the body must be a JSON object")
        return shop_trigger(
            session=session, automation_id=automation_id, payload=payload, headers=headers
        )

    # Verified and read in a session of its own; stored with the triggers arriving
    # together, as the API's (web/trigger_commits.py).
    trigger = await ctx.in_read_session(read)
    if trigger is None:
        return error_response(401, "unauthorized", BAD_SIGNATURE)
    stored = (await ctx.triggers(trigger)).trigger
    assert stored.id is not None
    answer = TriggerAccepted(
        trigger_id=stored.id,
        automation_id=stored.automation_id,
        accepted_at=stored.received_at.isoformat(),
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)
