"""The JSON API under /api: each module declares its routes with their operations."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.api import (
    account,
    automations,
    campaigns,
    contacts,
    coupons,
    groups,
    images,
    inbound,
    links,
    message_templates,
    messages,
    pages,
    segments,
    senders,
    sms,
    stats,
    webhooks,
)

_MODULES = (
    sms,
    links,
    contacts,
    groups,
    segments,
    inbound,
    stats,  # before campaigns: its /campaigns/{id}/stats is the whole report
    campaigns,
    senders,
    messages,
    message_templates,
    automations,
    coupons,
    webhooks,
    pages,
    images,
    account,
)


def routes() -> list[BaseRoute]:
    return [route for module in _MODULES for route in module.api.routes]
