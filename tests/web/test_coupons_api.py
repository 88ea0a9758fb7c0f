"""Coupons API: pool import, redemption exactly once (50 concurrent clients over real HTTP),
state, errors."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from landing_templates.coupons import assign_coupon
from landing_templates.coupons.models import Coupon, CouponPool
from landing_templates.coupons.pools import ABANDONED_AFTER, discard_abandoned
from richsms.accounts import create_token
from richsms.db import session_scope
from richsms.settings import Settings
from tests.clock import FrozenClock
from tests.sender.test_chores import wait_until
from tests.web.test_crash_durability import free_port, start_server


def issue(engine: Engine, clock: FrozenClock, contact_id: int = 1) -> str:
    with session_scope(engine) as session:
        return assign_coupon(
            session=session,
            clock=clock,
            page_id=1,
            block_id="coupon",
            contact_id=contact_id,
            source="generate",
            pattern="TEST-######",
            pool_id=None,
            campaign_id=9,
        ).code


@pytest.fixture
def live_url(app: Starlette) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, in a thread of this process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        thread.join(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_fifty_concurrent_redemptions_give_one_200_and_forty_nine_409(
    live_url: str, token: str, engine: Engine, clock: FrozenClock
) -> None:
    code = issue(engine, clock)
    statuses: list[int] = [0] * 50
    bodies: list[dict[str, object]] = [{}] * 50
    start = threading.Barrier(50)

    def attempt(i: int) -> None:
        # Each thread has its own client, hence its own TCP connection and server session.
        with httpx.Client(
            base_url=live_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            start.wait()
            response = http.post(f"/api/coupons/{code}/redeem", json={"by": f"till {i}"})
            statuses[i], bodies[i] = response.status_code, response.json()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {200: 1, 409: 49}
    winner = bodies[statuses.index(200)]
    assert winner["state"] == "redeemed" and winner["redeemed_at"] == "2026-11-24T12:00:00Z"
    refused = {str(b["error"]["code"]) for b in bodies if "error" in b}  # type: ignore[index]
    assert refused == {"already_redeemed"}
    with httpx.Client(base_url=live_url, headers={"Authorization": f"Bearer {token}"}) as http:
        state = http.get(f"/api/coupons/{code}").json()
    assert state["redeemed_by"] == winner["redeemed_by"]


def test_redeem_records_who_and_where_then_refuses(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    code = issue(engine, clock)
    state = api.get(f"/api/coupons/{code}")
    assert state.status_code == 200
    assert state.json()["state"] == "valid" and state.json()["campaign_id"] == 9
    done = api.post(f"/api/coupons/{code}/redeem", json={"by": "Ana", "location": "Lyon 2"})
    assert done.status_code == 200
    assert done.json()["redeemed_by"] == "Ana" and done.json()["redeemed_location"] == "Lyon 2"
    again = api.post(f"/api/coupons/{code}/redeem")
    assert again.status_code == 409 and "by Ana" in again.json()["error"]["message"]
    assert api.get(f"/api/coupons/{code}").json()["state"] == "redeemed"


def test_unknown_coupons_and_bad_bodies_are_clear_errors(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    code = issue(engine, clock)
    assert api.get("/api/coupons/NOPE-000000").status_code == 404
    assert api.post("/api/coupons/NOPE-000000/redeem").status_code == 404
    assert api.post(f"/api/coupons/{code}/redeem", json={"by": "x" * 201}).status_code == 422
    assert api.post(f"/api/coupons/{code}/redeem", json={"who": "Ana"}).status_code == 422
    assert api.post(f"/api/coupons/{code}/redeem", json={"by": "A\u0007"}).status_code == 422
    assert api.get("/api/coupons/" + "é" * 300).status_code == 404
    bad_name = api.post(
        "/api/coupon-pools?name=a%07b", content=b"A\n", headers={"content-type": "text/csv"}
    )
    assert bad_name.status_code == 422
    assert api.post(f"/api/coupons/{code}/redeem", content=b"{", headers={
        "content-type": "application/json"}).status_code == 400
    assert api.get(f"/api/coupons/{code}").json()["state"] == "valid"


def test_the_api_needs_a_token(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    code = issue(engine, clock)
    assert client.post(f"/api/coupons/{code}/redeem").status_code == 401
    assert client.get(f"/api/coupons/{code}").status_code == 401


def test_pool_import_reports_rejected_rows_and_pool_codes_are_drawn(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    body = b"code\nXMAS-1\nXMAS-2\nXMAS-1\n\nnot valid!\nXMAS-3\n"
    created = api.post(
        "/api/coupon-pools?name=Christmas", content=body, headers={"content-type": "text/csv"}
    )
    assert created.status_code == 201, created.text
    pool = created.json()
    assert pool["name"] == "Christmas" and pool["imported"] == 3 and pool["available"] == 3
    assert pool["rejected"] == [
        {"row": 4, "reason": "'XMAS-1': duplicate of row 2"},
        {"row": 6, "reason": "'not valid!': only letters, digits and - . _ ~ are allowed"},
    ]
    again = api.post(
        "/api/coupon-pools", content=b"XMAS-3\nXMAS-4\n", headers={"content-type": "text/csv"}
    )
    assert again.status_code == 201
    assert again.json()["rejected"] == [{"row": 1, "reason": "'XMAS-3': the code already exists"}]
    with session_scope(engine) as session:
        drawn = assign_coupon(
            session=session, clock=clock, page_id=2, block_id="b", contact_id=5,
            source="pool", pattern=None, pool_id=pool["id"],
        ).code
    assert drawn in {"XMAS-1", "XMAS-2", "XMAS-3"}
    counts = api.get(f"/api/coupon-pools/{pool['id']}").json()
    assert (counts["size"], counts["assigned"], counts["available"]) == (3, 1, 2)
    assert api.get("/api/coupon-pools/999").status_code == 404
    assert api.get("/api/coupon-pools/abc").status_code == 422
    assert api.get(f"/api/coupons/{drawn}").json()["pool_id"] == pool["id"]
    # A pool code nobody has drawn is not a coupon yet.
    assert api.get("/api/coupons/XMAS-4").status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"code\nA\n", "application/json", 415),
        (b"", "text/csv", 422),
        (b"a,b\n1,2\n", "text/csv", 422),
        (b"\xff\xfe\x00", "text/csv", 422),
    ],
)
def test_malformed_pool_uploads_get_a_clear_4xx(
    api: TestClient, body: bytes, content_type: str, status: int
) -> None:
    response = api.post("/api/coupon-pools", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_openapi_lists_the_coupon_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/coupon-pools"]
    assert "post" in paths["/api/coupons/{code}/redeem"]
    assert "get" in paths["/api/coupons/{code}"]


def test_a_pool_import_whose_server_died_midway_is_removed_and_imports_whole_again(
    api: TestClient, settings: Settings, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    """A real `richsms serve` killed (SIGKILL) while it stores a pool leaves a hidden pool
    holding part of the codes. Sent again once that import has been silent long enough,
    the same file imports whole (no code refused as already known) into the one pool
    shown; a hidden pool still being filled is never touched."""
    size = 300_000
    data = ("code\n" + "\n".join(f"K{n:08d}" for n in range(size)) + "\n").encode()
    with session_scope(engine) as session:
        token = create_token(session=session, name="shop", clock=clock)
    port = free_port()
    server = start_server(settings, port, tmp_path / "server.log")
    answers: list[object] = []

    def post() -> None:
        try:
            answers.append(httpx.post(
                f"http://127.0.0.1:{port}/api/coupon-pools?name=Noel", content=data,
                headers={"Authorization": f"Bearer {token}", "content-type": "text/csv"},
                timeout=600,
            ).status_code)  # fmt: skip
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)

    poster = threading.Thread(target=post)
    poster.start()
    try:
        wait_until(lambda: stored(engine) > 0, "the first codes stored")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        poster.join(60)
    half = stored(engine)
    assert 0 < half < size and answers != [201], "the server was not killed midway"
    assert api.get("/api/coupon-pools/1").status_code == 404  # hidden, half-filled

    clock.set(datetime.now(UTC) + timedelta(minutes=1))  # the import went silent just now
    with session_scope(engine) as session:
        assert discard_abandoned(session=session, now=clock.now()) == 0  # may be alive
    clock.set(datetime.now(UTC) + ABANDONED_AFTER + timedelta(minutes=1))
    again = api.post("/api/coupon-pools?name=Noel", content=data,
                     headers={"content-type": "text/csv"})  # fmt: skip
    assert again.status_code == 201, again.text[:300]
    body = again.json()
    assert (body["imported"], body["size"], body["rejected"]) == (size, size, [])
    assert api.get(f"/api/coupon-pools/{body['id']}").json()["available"] == size
    assert stored(engine) == size  # the half-filled pool's codes are gone
    with engine.connect() as conn:
        pools = conn.execute(select(CouponPool.id)).scalars().all()
    assert pools == [body["id"]]


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Coupon)).scalar_one())
