"""The account's brand name (`GET|PUT /api/account`) and the SMS analysis's warning of a
promotional text that does not contain it."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.accounts.roles import Role
from richsms.db import session_scope
from tests.clock import FrozenClock
from tests.web.test_ui import make_user


def test_the_brand_name_is_set_read_and_cleared(api: TestClient) -> None:
    assert api.get("/api/account").json() == {"brand_name": None}
    put = api.put("/api/account", json={"brand_name": "  Café   Rouge "})
    assert put.status_code == 200, put.text
    assert put.json() == {"brand_name": "Café Rouge"}  # spaces tidied
    assert api.get("/api/account").json() == {"brand_name": "Café Rouge"}
    assert api.put("/api/account", json={"brand_name": ""}).json() == {"brand_name": None}
    too_long = api.put("/api/account", json={"brand_name": "x" * 61})
    assert too_long.status_code == 422 and "brand_name" in too_long.text
    assert api.put("/api/account", json={"brand": "x"}).status_code == 422


def test_a_marketer_reads_the_brand_name_and_only_an_administrator_sets_it(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example", Role.MARKETER)
    with session_scope(engine) as session:
        token = create_token(
            session=session, name="anne", clock=clock, user_email="anne@shop.example"
        )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/account", headers=headers).status_code == 200
    refused = client.put("/api/account", json={"brand_name": "Shop"}, headers=headers)
    assert refused.status_code == 403


def test_the_analysis_warns_of_a_promotional_text_without_the_brand(api: TestClient) -> None:
    text = "-20 % sur tout ce week-end !"
    assert api.post("/api/sms/analyze", json={"text": text}).json()["warnings"] == []
    api.put("/api/account", json={"brand_name": "Café Rouge"})
    warned = api.post("/api/sms/analyze", json={"text": text}).json()
    assert [w["code"] for w in warned["warnings"]] == ["brand_missing"]
    assert "Café Rouge" in warned["warnings"][0]["message"]
    assert "anti-spam" in warned["warnings"][0]["message"]
    named = api.post("/api/sms/analyze", json={"text": "CAFE ROUGE : " + text}).json()
    assert named["warnings"] == []
    informational = api.post(
        "/api/sms/analyze", json={"text": "Votre commande est prête.", "type": "informational"}
    ).json()
    assert informational["warnings"] == []
