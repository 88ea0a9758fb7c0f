"""Bearer-token authentication for everything mounted under /api: who the token speaks
for (`Principal`: its user's role) is left in the request's state, where each route's
declared permission is checked (web/openapi.py)."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from richsms.accounts import Principal
from web.context import context
from web.errors import error_response

PRINCIPAL = "principal"


def principal_of(scope: Scope) -> Principal | None:
    found = scope.get("state", {}).get(PRINCIPAL)
    return found if isinstance(found, Principal) else None


def actor_of(scope: Scope) -> int | None:
    """Who asks, as campaigns record authors and approvers and the inbox who answered
    (richsms.accounts): a token of a user's is that user, so that creating in the UI and
    approving with one's own token are the same person."""
    who = principal_of(scope)
    return who.actor if who is not None else None


class BearerAuth:
    """Lets a request through only with `Authorization: Bearer <valid token>`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        found = None
        if token is not None:
            found = await context(HTTPConnection(scope)).tokens(token)
        if found is None:
            message = "missing bearer token" if token is None else "invalid or revoked token"
            response = error_response(
                401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="api"'}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL] = found
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            header: str = value.decode("latin-1")
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    return None
