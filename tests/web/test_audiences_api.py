"""Groups, segments and sender numbers: listed, read, changed and deleted; segments that
cannot be counted are refused when saved."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from sender.campaigns.models import Campaign
from tests.clock import FrozenClock

CSV = {"Content-Type": "text/csv"}


def campaign(engine: Engine, clock: FrozenClock, **audience: Any) -> int:
    now = clock.now()
    with Session(engine) as session:
        row = Campaign(
            name="Soldes", type="promotional", template="x", created_at=now, updated_at=now,
            **audience,
        )  # fmt: skip
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def test_groups_are_listed_renamed_and_deleted(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    api.post("/api/contacts/import", content=b"phone\n0612345678\n0751234567\n", headers=CSV)
    vip = api.post("/api/groups", json={"name": "VIP"}).json()
    api.post("/api/groups", json={"name": "Clients"})
    api.post(f"/api/groups/{vip['id']}/members", json={"contact_ids": [1, 2]})
    listed = api.get("/api/groups").json()["groups"]
    assert [(g["name"], g["members"]) for g in listed] == [("Clients", 0), ("VIP", 2)]
    assert api.get(f"/api/groups/{vip['id']}").json()["members"] == 2
    renamed = api.patch(f"/api/groups/{vip['id']}", json={"name": "Fidèles"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Fidèles"
    assert api.patch(f"/api/groups/{vip['id']}", json={"name": "Clients"}).status_code == 409
    removed = api.post(f"/api/groups/{vip['id']}/members/remove", json={"phones": ["0612345678"]})
    assert removed.json() == {
        "removed": 1,
        "not_members": 0,
        "unknown_contact_ids": [],
        "unknown_phones": [],
    }
    used = campaign(engine, clock, group_ids=[vip["id"]])
    refused = api.delete(f"/api/groups/{vip['id']}")
    assert refused.status_code == 409
    assert f"#{used} Soldes" in refused.json()["error"]["message"]
    with Session(engine) as session:
        row = session.get(Campaign, used)
        assert row is not None
        row.status = "done"
        session.commit()
    assert api.delete(f"/api/groups/{vip['id']}").json() == {"id": vip["id"], "deleted": True}
    assert api.get(f"/api/groups/{vip['id']}").status_code == 404
    # The contacts stay.
    assert api.get("/api/contacts/2").status_code == 200
    assert api.delete("/api/groups/99").status_code == 404


PARIS = [{"field": "fields.ville", "op": "eq", "value": "Paris"}]


def test_segments_are_listed_changed_and_deleted(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    api.post(
        "/api/contacts/import",
        content=b"phone,ville\n0612345678,Paris\n0751234567,Lyon\n",
        headers=CSV,
    )
    paris = api.post("/api/segments", json={"name": "Paris", "filters": PARIS}).json()
    api.post("/api/segments", json={"name": "Anglais", "filters": []})
    assert [s["name"] for s in api.get("/api/segments").json()["segments"]] == [
        "Anglais",
        "Paris",
    ]
    assert api.get(f"/api/segments/{paris['id']}").json()["filters"] == PARIS
    lyon = [{"field": "fields.ville", "op": "eq", "value": "Lyon"}]
    changed = api.patch(f"/api/segments/{paris['id']}", json={"name": "Lyon", "filters": lyon})
    assert changed.status_code == 200 and changed.json()["filters"] == lyon
    assert api.get(f"/api/segments/{paris['id']}/count").json()["contacts"] == 1
    assert api.patch(f"/api/segments/{paris['id']}", json={"name": "Anglais"}).status_code == 409
    bad = api.patch(f"/api/segments/{paris['id']}", json={"filters": [{"field": "x"}]})
    assert bad.status_code == 422
    used = campaign(engine, clock, segment_ids=[paris["id"]])
    refused = api.delete(f"/api/segments/{paris['id']}")
    assert refused.status_code == 409 and f"#{used}" in refused.json()["error"]["message"]
    with Session(engine) as session:
        row = session.get(Campaign, used)
        assert row is not None
        row.status = "cancelled"
        session.commit()
    assert api.delete(f"/api/segments/{paris['id']}").status_code == 200
    assert api.get(f"/api/segments/{paris['id']}").status_code == 404


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"field": "phone", "op": "not_in", "value": [f"+3361234{n:04d}" for n in range(1001)]},
            "not_in takes a list of 1 to 1000 values",
        ),
        (
            {"field": "messages_received", "op": "gt", "value": 10**12},
            "a whole number from 0 to 1000000",
        ),
        ({"field": "messages_received", "op": "gt", "value": -1}, "a whole number from 0"),
        (
            {"field": "created_at", "op": "gt", "value": "9999-12-31T23:59:59-05:00"},
            "not an ISO 8601 time from 1900 to 2200",
        ),
        (
            {"field": "created_at", "op": "lt", "value": "0001-01-01T00:00:00+01:00"},
            "not an ISO 8601 time from 1900 to 2200",
        ),
        ({"field": "shoe_size", "op": "eq", "value": "42"}, "unknown field 'shoe_size'"),
        ({"field": "language", "op": "like", "value": "fr"}, "unknown op 'like'"),
        ({"field": "first_name", "op": "eq", "value": "x" * 1001}, "at most 1000 characters"),
        ({"field": "first_name", "op": "eq", "value": {"a": 1}}, "compared with text"),
        ({"field": "x" * 5000, "op": "eq", "value": "a"}, "unknown field 'xxxxx"),
    ],
)
def test_a_segment_that_could_not_be_counted_is_refused_when_saved(
    api: TestClient, condition: dict[str, Any], message: str
) -> None:
    response = api.post("/api/segments", json={"name": "bad", "filters": [condition]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_filter"
    assert message in error["message"] and len(error["message"]) < 400
    assert api.get("/api/segments").json()["segments"] == []


def test_numbers_past_any_database_are_refused(api: TestClient) -> None:
    condition = {"field": "messages_received", "op": "gt", "value": 10**30}
    response = api.post("/api/segments", json={"name": "bad", "filters": [condition]})
    assert response.status_code == 422 and response.json()["error"]["message"]


def test_the_largest_segment_allowed_is_counted(api: TestClient) -> None:
    api.post("/api/contacts/import", content=b"phone\n0612345678\n0751234567\n", headers=CSV)
    many = [f"+3361234{n:04d}" for n in range(498)]
    filters = [
        {"field": "phone", "op": "not_in", "value": many},
        {"field": "first_name", "op": "in", "value": ["", *many]},
        {"field": "messages_received", "op": "lte", "value": 1_000_000},
        {"field": "created_at", "op": "gt", "value": "1900-01-01T00:00:00Z"},
    ]
    created = api.post("/api/segments", json={"name": "big", "filters": filters})
    assert created.status_code == 201, created.text
    count = api.get(f"/api/segments/{created.json()['id']}/count")
    assert count.status_code == 200 and count.json()["contacts"] == 2
    too_many = [{"field": "phone", "op": "not_in", "value": many}] * 3
    refused = api.post("/api/segments", json={"name": "bigger", "filters": too_many})
    assert refused.status_code == 422
    assert "at most 1000 values in all" in refused.json()["error"]["message"]


def test_sender_numbers_are_listed_changed_and_deleted(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    body = {"kind": "short_code", "value": "36180", "rate": 10, "allowed_types": ["promotional"]}
    short = api.post("/api/senders", json=body).json()
    body = {"kind": "alphanumeric", "value": "Boutique", "rate": 5,
            "allowed_types": ["administrative"]}  # fmt: skip
    alpha = api.post("/api/senders", json=body).json()
    assert [s["value"] for s in api.get("/api/senders").json()["senders"]] == ["36180", "Boutique"]
    changed = api.patch(
        f"/api/senders/{short['id']}",
        json={"rate": 25.5, "allowed_types": ["promotional", "informational"]},
    )
    assert changed.status_code == 200
    assert (changed.json()["rate"], changed.json()["allowed_types"]) == (
        25.5,
        ["promotional", "informational"],
    )
    for bad in ({"rate": 0}, {"rate": 10_001}, {"allowed_types": []}, {"kind": "long_code"}):
        assert api.patch(f"/api/senders/{short['id']}", json=bad).status_code == 422, bad
    campaign(engine, clock, sender_id=short["id"])
    assert api.delete(f"/api/senders/{short['id']}").status_code == 409
    assert api.delete(f"/api/senders/{alpha['id']}").status_code == 200
    assert api.get(f"/api/senders/{alpha['id']}").status_code == 404
    assert api.get(f"/api/senders/{short['id']}").json()["value"] == "36180"


def test_every_new_route_is_documented(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    expected = {
        "/api/contacts": {"get"},
        "/api/contacts/{contact_id}": {"get", "patch", "delete"},
        "/api/contacts/{contact_id}/history": {"get"},
        "/api/groups": {"get", "post"},
        "/api/groups/{group_id}": {"get", "patch", "delete"},
        "/api/groups/{group_id}/members/remove": {"post"},
        "/api/segments": {"get", "post"},
        "/api/segments/{segment_id}": {"get", "patch", "delete"},
        "/api/senders": {"get", "post"},
        "/api/senders/{sender_id}": {"get", "patch", "delete"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_automations_are_listed_and_deleted(api: TestClient) -> None:
    group = api.post("/api/groups", json={"name": "Nouveaux"}).json()
    created = api.post(
        "/api/automations",
        json={
            "name": "Bienvenue",
            "kind": "group_join",
            "group_id": group["id"],
            "template": "Bienvenue !",
            "type": "informational",
        },
    )
    assert created.status_code == 201, created.text
    automation = created.json()
    listed = api.get("/api/automations").json()["automations"]
    assert [(a["id"], a["name"]) for a in listed] == [(automation["id"], "Bienvenue")]
    # The group cannot go while an automation welcomes its new members.
    assert api.delete(f"/api/groups/{group['id']}").status_code == 409
    deleted = api.delete(f"/api/automations/{automation['id']}")
    assert deleted.json() == {"id": automation["id"], "deleted": True}
    assert api.get("/api/automations").json()["automations"] == []
    assert api.delete(f"/api/automations/{automation['id']}").status_code == 404
    assert api.delete(f"/api/groups/{group['id']}").status_code == 200


def test_listed_values_are_text_whatever_they_hold(api: TestClient) -> None:
    api.post(
        "/api/contacts/import",
        content="phone,last_name\n0612345678,O'Brien\n0751234567,a\\b\n0612340000,Ünal\n".encode(),
        headers=CSV,
    )
    values = ["O'Brien", "a\\b", "x'); DROP TABLE contact;--", "Ünal"]
    filters = [{"field": "last_name", "op": "in", "value": values}]
    created = api.post("/api/segments", json={"name": "odd", "filters": filters}).json()
    assert api.get(f"/api/segments/{created['id']}/count").json()["contacts"] == 3
    filters = [{"field": "last_name", "op": "not_in", "value": values[:2]}]
    other = api.post("/api/segments", json={"name": "rest", "filters": filters}).json()
    assert api.get(f"/api/segments/{other['id']}/count").json()["contacts"] == 1


def test_a_segment_is_duplicated_with_its_filters(api: TestClient) -> None:
    paris = api.post("/api/segments", json={"name": "Paris", "filters": PARIS}).json()
    copy = api.post(f"/api/segments/{paris['id']}/duplicate", json={})
    assert copy.status_code == 201, copy.text
    assert (copy.json()["name"], copy.json()["filters"]) == ("Paris (copy)", PARIS)
    assert copy.json()["id"] != paris["id"]
    named = api.post(f"/api/segments/{paris['id']}/duplicate", json={"name": "Paris 2"})
    assert named.status_code == 201 and named.json()["name"] == "Paris 2"
    taken = api.post(f"/api/segments/{paris['id']}/duplicate", json={"name": "Paris 2"})
    assert taken.status_code == 409
    assert api.post("/api/segments/999/duplicate", json={}).status_code == 404
