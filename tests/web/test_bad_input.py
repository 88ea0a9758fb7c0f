"""Every bad input gets a clear 4xx with a JSON error, never a 500: enforced in one place
(the JSON reader, the path-id parser and convertor, shared bounded types, and the error
mapping behind them) so that every route gets it, including routes added later."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

JSON = {"Content-Type": "application/json"}


def error_of(response: object, *statuses: int) -> str:
    status = response.status_code  # type: ignore[attr-defined]
    assert status in statuses, (status, response.text)  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    message: str = body["error"]["message"]
    assert message and body["error"]["code"]
    return message


@pytest.mark.parametrize(
    "path",
    [
        "/api/campaigns/99999999999999999999",
        "/api/campaigns/2147483648",
        "/api/contacts/99999999999999999999",
        "/api/contacts/2147483648",
        "/api/messages/99999999999999999999",
        "/api/segments/99999999999999999999/count",
    ],
)
def test_ids_past_the_database_range_are_not_found(api: TestClient, path: str) -> None:
    error_of(api.get(path), 404)


@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A3", "1e3", "-1", "0x10", "%EF%BC%91"])
def test_ids_that_are_not_ascii_numbers_are_refused(api: TestClient, raw: str) -> None:
    # ², Arabic-Indic three, fullwidth one: digits to str.isdigit, never ids.
    error_of(api.get(f"/api/campaigns/{raw}"), 404, 422)
    error_of(api.get(f"/api/contacts/{raw}"), 404, 422)


def test_query_integers_out_of_range_are_refused(api: TestClient) -> None:
    for query in ("after=99999999999999999999", "limit=99999999999999999999", "after=%C2%B2"):
        error_of(api.get(f"/api/campaigns/1/messages?{query}"), 404, 422)


@pytest.mark.parametrize(
    "body",
    [
        '{"url": "https://a.example/", "contact_id": 99999999999999999999}',
        '{"url": "https://a.example/", "contact_id": 2147483648}',
        '{"url": "https://a.example/", "campaign_id": -1}',
        '{"url": "https://a.example/", "contact_ids": [1, 99999999999999999999]}',
    ],
)
def test_json_integers_out_of_range_are_refused(api: TestClient, body: str) -> None:
    path = "/api/links/bulk" if "contact_ids" in body else "/api/links"
    message = error_of(api.post(path, content=body, headers=JSON), 422)
    assert "_id" in message


def test_integers_of_thousands_of_digits_are_refused(api: TestClient) -> None:
    body = '{"text": ' + "9" * 5000 + "}"
    error_of(api.post("/api/sms/analyze", content=body, headers=JSON), 400, 422)


def test_deeply_nested_json_is_refused(api: TestClient) -> None:
    for depth in (100, 1000, 100_000):
        body = '{"text": "hi", "custom_fields": ' + "[" * depth + "]" * depth + "}"
        message = error_of(api.post("/api/sms/analyze", content=body, headers=JSON), 400)
        assert "nested" in message


def test_not_a_number_and_infinity_are_refused(api: TestClient) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
        body = '{"url": "https://a.example/", "contact_id": ' + literal + "}"
        error_of(api.post("/api/links", content=body, headers=JSON), 400, 422)


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "2027-01-01T00:00:00"]
)
def test_dates_the_database_cannot_store_are_refused(api: TestClient, when: str) -> None:
    response = api.post("/api/links", json={"url": "https://a.example/", "expires_at": when})
    message = error_of(response, 422)
    assert "expires_at" in message


def test_dates_out_of_range_are_refused_on_every_route(api: TestClient) -> None:
    """Routes whose models predate the shared types still answer 4xx (the error mapping
    turns what the database could not store into a 422)."""
    group = api.post("/api/groups", json={"name": "Clients"})
    assert group.status_code == 201, group.text
    for when in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"):
        body = {
            "group_ids": [group.json()["id"]],
            "name": "Soldes",
            "type": "promotional",
            "template": "Bonjour",
            "schedule": "at",
            "send_at": when,
        }
        message = error_of(api.post("/api/campaigns", json=body), 422)
        assert "send_at" in message or "store" in message


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"', '"\\u0000"'])
def test_lone_surrogates_and_nul_in_strings_are_refused(api: TestClient, text: str) -> None:
    message = error_of(
        api.post("/api/sms/analyze", content='{"text": ' + text + "}", headers=JSON), 422
    )
    assert "text" in message


def test_lone_surrogates_in_keys_are_refused(api: TestClient) -> None:
    body = '{"text": "hi", "custom_fields": {"\\ud800": "x"}}'
    error_of(api.post("/api/sms/analyze", content=body, headers=JSON), 422)


def test_bodies_that_are_not_json_objects_are_refused(api: TestClient) -> None:
    for body in ("", "[]", "3", '"text"', "{", "\xff"):
        error_of(api.post("/api/links", content=body.encode("latin-1"), headers=JSON), 400)


def test_a_valid_request_still_works(api: TestClient) -> None:
    response = api.post("/api/sms/analyze", json={"text": "Bonjour é"})
    assert response.status_code == 200


def test_values_only_the_database_would_refuse_still_get_a_4xx(api: TestClient) -> None:
    """Routes that check less themselves: what the database refuses (a number past an
    INTEGER column, a NUL in text on PostgreSQL) maps to a 422, never a 500 (SQLite takes
    the NUL, so the search simply finds nothing there)."""
    group = api.post("/api/groups", json={"name": "Clients"}).json()["id"]
    campaign = api.post(
        "/api/campaigns",
        json={"name": "x", "type": "promotional", "template": "hi", "group_ids": [group]},
    ).json()["id"]
    requests = [
        ("GET", f"/api/campaigns/{campaign}/messages?after=99999999999999999999", None),
        ("GET", "/api/contacts?q=%00", None),
        (
            "POST",
            "/api/campaigns",
            {"name": "x", "type": "promotional", "template": "hi", "group_ids": [2**40]},
        ),
    ]
    for method, path, body in requests:
        response = api.request(method, path, json=body)
        assert response.status_code < 500, (path, response.text)
        if response.status_code >= 400:
            assert response.json()["error"]["message"]
