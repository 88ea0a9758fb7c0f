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
    return JSONResponse({"status": "ok", "database": "ok"})
