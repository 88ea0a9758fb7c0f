"""Contacts, groups and segments through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.db import session_scope
from sender.delivery.models import Message
from sender.delivery.outbox import enqueue
from tests.clock import FrozenClock

CSV = {"Content-Type": "text/csv"}


def import_csv(api: TestClient, data: bytes, **params: str) -> dict[str, object]:
    response = api.post("/api/contacts/import", content=data, headers=CSV, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_import_a_latin1_file_with_a_bad_row(api: TestClient) -> None:
    data = (
        "Téléphone;Prénom;Ville\n"
        "06 12 34 56 78;Hélène;Besançon\n"
        "12345;Bob;Paris\n"
        "0612345678;;Lyon\n"
        "+33 7 51 23 45 67;Zoé;Nîmes\n"
    ).encode("latin-1")
    body = import_csv(api, data)
    assert body == {
        "imported": 2,
        "updated": 0,
        "rejected": [{"row": 3, "reason": "not a valid number for FR: 12345"}],
        "rows": 4,
        "duplicates": 1,
    }
    again = import_csv(api, b"phone,ville\n0612345678,Paris\n")
    assert (again["imported"], again["updated"]) == (0, 1)


def test_the_region_query_reads_national_numbers(api: TestClient) -> None:
    assert import_csv(api, b"phone\n0470 12 34 56\n", region="BE")["imported"] == 1
    bad = api.post("/api/contacts/import", content=b"phone\n1\n", headers=CSV,
                   params={"region": "XX"})  # fmt: skip
    assert bad.status_code == 422
    assert "unknown region" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"name,email\nLea,lea@example.com\n", "the file has no phone column"),
        (b'phone,name\n0612345678,"Lea\n', "a quote is left open"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "contains binary data"),
    ],
)
def test_malformed_csv_is_a_clear_422(api: TestClient, data: bytes, message: str) -> None:
    response = api.post("/api/contacts/import", content=data, headers=CSV)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert message in error["message"]


def test_the_import_wants_csv(api: TestClient) -> None:
    response = api.post("/api/contacts/import", json={"phone": "0612345678"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_the_import_needs_a_token(client: TestClient) -> None:
    response = client.post("/api/contacts/import", content=b"phone\n", headers=CSV)
    assert response.status_code == 401


def test_a_contact_with_its_history(api: TestClient, engine: Engine, clock: FrozenClock) -> None:
    import_csv(
        api,
        "phone,first_name,city,source,consent_type\n0612345678,Léa,Lyon,salon,express\n".encode(),
    )
    clock.advance(timedelta(minutes=1))
    assert api.post("/api/inbound", json={"from": "0612345678", "text": "STOP"}).status_code == 200
    with session_scope(engine) as session:
        sent = enqueue(
            session=session, phone="+33612345678", text="Promo", type="promotional",
            now=clock.now(), contact_id=1,
        )  # fmt: skip
        message: Message | None = session.get(Message, sent.id)
        assert message is not None
        message.state, message.sent_at = "sent", clock.now() + timedelta(seconds=2)
    body = api.get("/api/contacts/1").json()
    assert (body["phone"], body["first_name"], body["fields"]) == (
        "+33612345678",
        "Léa",
        {"city": "Lyon"},
    )
    assert (body["status"], body["opted_out_via"]) == ("opted_out", "keyword:STOP")
    assert body["timezones"] == ["Europe/Paris"]
    assert [(e["kind"], e["source"]) for e in body["consent_history"]] == [
        ("express", "salon"),
        ("opt_out", "keyword:STOP"),
    ]
    confirmation, promo = body["messages"]
    assert confirmation["type"] == "administrative" and confirmation["state"] == "queued"
    assert promo["text"] == "Promo" and promo["state"] == "sent"
    assert promo["times"] == {
        "planned": "2026-11-24T12:01:00Z",
        "queued": "2026-11-24T12:01:00Z",
        "sent": "2026-11-24T12:01:02Z",
    }
    (inbound,) = body["inbound"]
    assert (inbound["text"], inbound["keyword"]) == ("STOP", "STOP")


def test_an_unknown_contact_is_404(api: TestClient) -> None:
    response = api.get("/api/contacts/42")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no contact with id 42"


def test_groups_dedupe_their_members(api: TestClient) -> None:
    import_csv(api, b"phone\n0612345678\n0751234567\n")
    created = api.post("/api/groups", json={"name": "VIP"})
    assert created.status_code == 201
    group = created.json()
    assert group["name"] == "VIP"
    members = f"/api/groups/{group['id']}/members"
    body = api.post(
        members, json={"contact_ids": [1, 1, 99], "phones": ["06 12 34 56 78", "+33700000000"]}
    ).json()
    assert body == {
        "added": 1,
        "already_members": 0,
        "unknown_contact_ids": [99],
        "unknown_phones": ["+33700000000"],
    }
    again = api.post(members, json={"phones": ["0751234567", "0612345678"]}).json()
    assert (again["added"], again["already_members"]) == (1, 1)
    assert api.post("/api/groups", json={"name": "VIP"}).status_code == 409
    assert api.post("/api/groups/99/members", json={"contact_ids": [1]}).status_code == 404
    assert api.post(members, json={"contact_ids": ["x"]}).status_code == 422


def test_segments_count_what_matches_now(api: TestClient) -> None:
    import_csv(
        api,
        b"phone;langue;ville\n0612345678;fr;Paris\n+447911123456;;Paris\n0751234567;fr;Lyon\n"
,
    )  # fmt: skip
    created = api.post(
        "/api/segments",
        json={
            "name": "Parisiens francophones",
            "filters": [
                {"field": "fields.ville", "op": "eq", "value": "Paris"},
                {"field": "language", "op": "eq", "value": "FR"},
            ],
        },
    )
    assert created.status_code == 201
    segment = created.json()
    assert segment["filters"][1] == {"field": "language", "op": "eq", "value": "fr"}
    count = api.get(f"/api/segments/{segment['id']}/count").json()
    # Imported without consent: subscribed, but no promotional message may reach her.
    assert count == {
        "id": segment["id"],
        "contacts": 1,
        "subscribed": 0,
        "unconsented": 1,
        "opted_out": 0,
    }
    api.post("/api/inbound", json={"from": "+33612345678", "text": "stop"})
    import_csv(api, b"phone;langue;ville;consent_type\n0612345670;fr;Paris;express\n")
    count = api.get(f"/api/segments/{segment['id']}/count").json()
    assert (count["contacts"], count["subscribed"], count["unconsented"]) == (2, 1, 0)
    assert count["opted_out"] == 1
    assert api.get("/api/segments/99/count").status_code == 404


def test_invalid_segments_say_which_condition(api: TestClient) -> None:
    response = api.post(
        "/api/segments",
        json={
            "name": "x",
            "filters": [
                {"field": "language", "op": "eq", "value": "fr"},
                {"field": "redeemed", "op": "eq", "value": True},
            ],
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_filter"
    assert error["message"].startswith("filters[1]: ")
    assert "coupons do not exist yet" in error["message"]


def test_the_routes_are_documented(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/contacts/import",
        "/api/contacts/{contact_id}",
        "/api/groups",
        "/api/groups/{group_id}/members",
        "/api/segments",
        "/api/segments/{segment_id}/count",
    ):
        assert path in paths, path


def test_a_file_with_thousands_of_columns_is_a_clear_422(api: TestClient) -> None:
    header = ",".join(["phone"] + ["a"] * 8_000)
    response = api.post(
        "/api/contacts/import", content=f"{header}\n0612345678\n".encode(), headers=CSV
    )
    assert response.status_code == 422
    assert "at most 200 are kept per contact" in response.json()["error"]["message"]
    assert api.get("/api/contacts").json()["contacts"] == []
