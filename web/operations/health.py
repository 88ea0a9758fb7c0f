"""`GET /healthz`: is the database answering?"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from richsms.db import ping
from web.context import context
from web.openapi import RouteTable

health = RouteTable(public=True)


@health.get("/healthz", "Is the service up and its database reachable?", errors=(503,))
async def healthz(request: Request) -> JSONResponse:
    ctx = context(request)
    try:
        await run_in_threadpool(ping, ctx.engine)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    body: dict[str, object] = {"status": "ok", "database": "ok"}
    sending = ctx.sending
    if sending is not None:  # the in-process worker's provider: a refused bind shows here
        health = sending.provider.health()
        body["provider"] = {"name": sending.provider.name, "ok": health.ok,
                            "detail": health.detail}
        if not health.ok:
            body["status"] = "degraded"
    return JSONResponse(body)
