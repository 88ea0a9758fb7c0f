"""Bearer-token authentication for everything mounted under /api."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from richsms.accounts import verify_token
from web.context import context
from web.errors import error_response


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
            found = await context(HTTPConnection(scope)).in_read_session(
                lambda session: _token_id(session, token)
            )
        if found is None:
            message = "missing bearer token" if token is None else "invalid or revoked token"
            response = error_response(
                401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="api"'}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["token_id"] = found
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


def _token_id(session: Session, token: str) -> int | None:
    found = verify_token(session=session, token=token)
    return found.id if found is not None else None
