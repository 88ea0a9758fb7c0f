"""API routes: inbound."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.openapi import Operation

ROUTES: list[BaseRoute] = []
OPERATIONS: list[Operation] = []
