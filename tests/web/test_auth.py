from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, event, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.accounts import (
    ApiToken,
    Principal,
    create_token,
    list_tokens,
    revoke_token,
    set_role,
)
from richsms.accounts.roles import Permission, Role
from richsms.db import session_scope
from tests.clock import FrozenClock
from tests.web.test_ui import make_user
from web.token_checks import TokenChecks, token_checks


def test_missing_token_is_401(client: TestClient) -> None:
    response = client.post("/api/sms/analyze", json={"text": "hi"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_token_is_401(client: TestClient, token: str) -> None:
    for header in (f"Bearer {token}x", f"Basic {token}", "Bearer ", "Bearer rs_nope"):
        response = client.post(
            "/api/sms/analyze", json={"text": "hi"}, headers={"Authorization": header}
        )
        assert response.status_code == 401, header


def test_valid_token_passes(api: TestClient) -> None:
    assert api.post("/api/sms/analyze", json={"text": "hi"}).status_code == 200


def test_only_the_hash_is_stored(engine: Engine, token: str) -> None:
    with Session(engine) as session:
        stored = session.execute(select(ApiToken.token_hash)).scalars().all()
    assert len(stored) == 1
    assert token not in stored[0]
    assert len(stored[0]) == 64


def test_revoked_token_is_refused(api: TestClient, engine: Engine, clock: object) -> None:
    from datetime import UTC, datetime

    with Session(engine) as session:
        row = session.execute(select(ApiToken)).scalar_one()
        row.revoked_at = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(row)
        session.commit()
    assert api.post("/api/sms/analyze", json={"text": "hi"}).status_code == 401


def test_tokens_arriving_together_are_checked_in_one_query_each_for_itself(
    engine: Engine, clock: FrozenClock
) -> None:
    """Requests that show their tokens at the same moment are checked as a group (one
    query), and each still gets its own answer: its user's role as it is now, or none when
    revoked, unknown or malformed."""
    make_user(engine, clock, "marketer@ex.co", Role.MARKETER)
    make_user(engine, clock, "viewer@ex.co", Role.VIEWER)
    with session_scope(engine) as session:
        admin = create_token(session=session, name="admin", clock=clock)
        marketer = create_token(session=session, name="m", clock=clock, user_email="marketer@ex.co")
        viewer = create_token(session=session, name="v", clock=clock, user_email="viewer@ex.co")
        revoked = create_token(session=session, name="old", clock=clock)
    with session_scope(engine) as session:
        revoke_token(session=session, token_id=len(list_tokens(session=session)), clock=clock)
    asked = [marketer, "rs_unknown", admin, revoked, viewer, "not-a-token", admin + "x", marketer]
    queries: list[str] = []

    def count(*args: object) -> None:
        statement = str(args[2])
        if "api_token" in statement:
            queries.append(statement)

    checks = token_checks(engine)
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = asyncio.run(_all(checks, asked))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    roles = [None if who is None else who.role for who in found]
    assert roles == [Role.MARKETER, None, Role.ADMIN, None, Role.VIEWER, None, None, Role.MARKETER]
    assert len(queries) == 1
    # A role changed is read at the next request, in a group as alone.
    with session_scope(engine) as session:
        set_role(session=session, email="marketer@ex.co", role="cashier")
    demoted, still = asyncio.run(_all(checks, [marketer, admin]))
    assert demoted is not None and demoted.role == Role.CASHIER
    assert not demoted.can(Permission.RESULTS)  # a cashier holds no API right
    assert still == found[2]


async def _all(checks: TokenChecks, tokens: list[str]) -> list[Principal | None]:
    return list(await asyncio.gather(*(checks(token) for token in tokens)))


def test_many_requests_at_once_each_answered_for_its_own_token(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """Through the API, forty requests in flight together, with a valid, a revoked and an
    unknown token mixed: every valid one passes, every other one is a 401."""
    with session_scope(engine) as session:
        good = create_token(session=session, name="good", clock=clock)
        bad = create_token(session=session, name="bad", clock=clock)
    with session_scope(engine) as session:
        revoke_token(session=session, token_id=2, clock=clock)
    tokens = [good, bad, "rs_" + "x" * 43, good] * 10

    def ask(token: str) -> int:
        response = client.post(
            "/api/sms/analyze", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(ask, tokens))
    assert statuses == [200, 401, 401, 200] * 10
