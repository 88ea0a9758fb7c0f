from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.testclient import TestClient

from richsms.accounts import ApiToken


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
