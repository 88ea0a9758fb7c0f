"""`GET /healthz`: is the database answering?"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from richsms.db import ping
from web.openapi import Operation

OPERATIONS = [
    Operation(
        "GET",
        "/healthz",
        "Is the service up and its database reachable?",
        errors=(503,),
        public=True,
    ),
]


async def healthz(request: Request) -> JSONResponse:
    try:
        await run_in_threadpool(ping, request.app.state.engine)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    body: dict[str, object] = {"status": "ok", "database": "ok"}
    sending = getattr(request.app.state, "sending", None)
    if sending is not None:  # the in-process worker's provider: a refused bind shows here
        health = sending.worker.provider.health()
        body["provider"] = {"name": sending.worker.provider.name, "ok": health.ok,
                            "detail": health.detail}
        if not health.ok:
            body["status"] = "degraded"
    return JSONResponse(body)
