"""The JSON API under /api: each module lists its routes and their OpenAPI operations."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web import bodies  # noqa: F401  (bounds `{id:int}` path parameters before routes are built)
from web.api import (
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
from web.openapi import Operation

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
)


def routes() -> list[BaseRoute]:
    return [route for module in _MODULES for route in module.ROUTES]


def operations() -> list[Operation]:
    return [op for module in _MODULES for op in module.OPERATIONS]
