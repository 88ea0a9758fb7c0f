"""A small Twilio-shaped Messages API (Starlette, served by uvicorn in a thread).

The recipient number chooses the answer, as Twilio's test numbers do:
+15005550001 → 400 code 21211 (invalid number), +15005550009 → 400 21610 (unsubscribed),
+15005550007 → 400 30007 (filtered), +15005550003 → 400 30003 the first time then 201,
+15005550008 → 400 30008 every time, +15005550429 → 429 with Retry-After,
+15005550500 → 500, +15005550404 → read, then no answer (a timeout after the request
was read). Anything else → 201 with a sid. Every request it read is in `requests`.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections import Counter
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.sender.delivery.providers.peers import free_port

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-test-token"
ERRORS = {"+15005550001": 21211, "+15005550009": 21610, "+15005550007": 30007}


class TwilioServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, str]] = []
        self.seen: Counter[str] = Counter()
        self.hang = 1.0
        app = Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{sid}/Messages.json", self.messages, methods=["POST"]
                ),
                Route("/2010-04-01/Accounts/{sid}.json", self.account, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TwilioServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def refused(self, request: Request) -> Response | None:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected or request.path_params["sid"] != SID:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        return None

    async def account(self, request: Request) -> Response:
        return self.refused(request) or JSONResponse({"sid": SID, "status": "active"})

    async def messages(self, request: Request) -> Response:
        if (refused := self.refused(request)) is not None:
            return refused
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.requests.append(form)
        to = form["To"]
        self.seen[to] += 1
        if to in ERRORS:
            return self.error(ERRORS[to])
        if to == "+15005550003" and self.seen[to] == 1:
            return self.error(30003)
        if to == "+15005550008":
            return self.error(30008)
        if to == "+15005550429":
            return JSONResponse({"code": 20429, "message": "Too Many Requests"}, 429,
                                headers={"Retry-After": "2"})
        if to == "+15005550500":
            return JSONResponse({"code": 20500, "message": "Internal Server Error"}, 500)
        if to == "+15005550404":
            await asyncio.sleep(self.hang)
        sid = f"SM{len(self.requests):032x}"
        return JSONResponse({"sid": sid, "status": "queued", "to": to, "body": form["Body"]}, 201)

    def error(self, code: int) -> Response:
        return JSONResponse(
            {"code": code, "message": f"error {code}", "more_info": "", "status": 400}, 400
        )
