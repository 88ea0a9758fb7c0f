"""Every bad input gets a clear 4xx with a JSON error, never a 500: enforced in one place
(the JSON reader, the path-id parser and convertor, shared bounded types, and the error
mapping behind them) so that every route gets it, including routes added later."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.clock import FrozenClock
from tests.web.test_ui import make_user, marketer, sign_in  # noqa: F401  (the fixture)
from tests.web.test_ui_builder import new_page, token_of
from web.bodies import PARSE_ELSEWHERE_BYTES

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


def tall_png(width: int, height: int) -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(out, "PNG")
    return out.getvalue()


def test_an_image_side_past_what_webp_encodes_is_refused_with_its_limit(
    api: TestClient,
) -> None:
    """WebP cannot encode a side over 16,383 px (`encoding error 5`, a 500 before): the
    upload is refused from the image's header, through the API and the UI alike."""
    png = {"Content-Type": "image/png"}
    for size in ((8, 16_384), (16_384, 8)):
        refused = api.post("/api/images", content=tall_png(*size), headers=png)
        assert "16383" in error_of(refused, 413, 422)
    kept = api.post("/api/images", content=tall_png(8, 16_383), headers=png)
    assert kept.status_code == 201, kept.text
    assert kept.json()["height"] == 16_383


def test_the_ui_upload_refuses_a_side_past_what_webp_encodes(
    marketer: TestClient,  # noqa: F811
) -> None:
    page_id = new_page(marketer)
    headers = {"HX-Request": "true", "X-CSRF-Token": token_of(marketer, page_id),
               "Content-Type": "image/png"}
    refused = marketer.post(f"/ui/pages/{page_id}/images", content=tall_png(8, 16_384),
                            headers=headers)
    assert refused.status_code in (413, 422) and "16383" in refused.text


def test_an_image_upload_sent_as_a_form_is_a_4xx(client: TestClient, engine: Engine,
                                                 clock: FrozenClock) -> None:
    """A form where the UI expects the image's bytes ("Stream consumed", a 500 before,
    even signed out): signed out it is the usual sign-in refusal, signed in a 422 that
    says what an image upload is."""
    def posts(page: str, token: str = "") -> list[Response]:
        sent = {"X-CSRF-Token": token}  # as builder.js sends it
        return [
            client.post(f"/ui/pages/{page}/images", data={"image": "x"}, headers=sent,
                        follow_redirects=False),
            client.post(f"/ui/pages/{page}/images", data={"csrf": token}, headers=sent,
                        files={"other": ("a.txt", b"text", "text/plain")},
                        follow_redirects=False),
        ]

    for response in posts("1"):
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/ui/signin"
    make_user(engine, clock, "anne@shop.example")
    assert sign_in(client, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]
    page_id = new_page(client)
    for response in posts(str(page_id), token_of(client, page_id)):
        assert response.status_code == 422, response.text
        assert "JPEG, PNG or WebP" in response.text


def _documented(client: TestClient) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = client.get("/openapi.json").json()["paths"]
    return {path: ops for path, ops in paths.items() if path.startswith("/api/")}


def test_options_answers_every_method_a_path_serves(api: TestClient) -> None:
    """Each method of a path is its own route: OPTIONS answered the first one's 405 (or
    no Allow at all); now a 204 listing them all, for any API path, token or not."""
    for path, ops in _documented(api).items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for client_headers in ({}, {"Authorization": ""}):
            answer = api.options(concrete, headers=client_headers)
            assert answer.status_code == 204, (path, answer.status_code, answer.text)
            allowed = {m.strip() for m in answer.headers["allow"].split(",")}
            assert {m.upper() for m in ops} | {"OPTIONS"} <= allowed, (path, allowed)
    assert api.options("/api/no-such-thing").status_code == 404


def test_a_json_body_is_required_where_the_operation_requires_one(api: TestClient) -> None:
    """Every operation documenting a required JSON body refuses an empty one (400, never
    read as `{}`); those whose body is optional (publish, redeem) take it empty."""
    group = api.post("/api/groups", json={"name": "Clients"}).json()["id"]
    api.post("/api/pages", json={"name": "S", "language": "en", "blocks": []})
    for path, ops in _documented(api).items():
        concrete = re.sub(r"\{[^}]+\}", str(group), path)
        for method, op in ops.items():
            body = op.get("requestBody", {})
            if "application/json" not in body.get("content", {}):
                continue
            for headers in (JSON, {}):
                answer = api.request(method, concrete, content=b"", headers=headers)
                if body["required"]:
                    assert answer.status_code == 400, (method, path, answer.text)
                    assert answer.json()["error"]["message"] == "a JSON body is required"
                else:
                    assert answer.status_code < 500, (method, path, answer.text)
                    assert "a JSON body" not in answer.text, (method, path)
    published = api.post("/api/pages/1/publish", content=b"  ", headers=JSON)
    assert published.status_code == 200, published.text


def test_ids_of_zero_or_below_are_no_ids(api: TestClient) -> None:
    """An id path parameter of 0, -1 or 00 matches no row: 404 or 422 on every route,
    whatever the method, never an answer about row 0."""
    for path, ops in _documented(api).items():
        if not re.search(r"\{(id|\w+_id)\}", path):
            continue
        for raw in ("0", "00", "-1"):
            concrete = re.sub(r"\{(id|\w+_id)\}", raw, path)
            concrete = re.sub(r"\{[^}]+\}", "x", concrete)
            for method in ops:
                answer = api.request(method, concrete, json={})
                assert answer.status_code in (404, 422), (method, concrete, answer.text)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/links", {"url": "https://a.example/", "contact_id": 0}, "contact_id"),
        ("/api/links", {"url": "https://a.example/", "campaign_id": False}, "campaign_id"),
        ("/api/links", {"url": "https://a.example/", "page_id": "1"}, "page_id"),
        ("/api/links/bulk", {"url": "https://a.example/", "contact_ids": [True]}, "contact_ids"),
        ("/api/messages", {"contact_id": False, "text": "Hi", "type": "informational"},
         "contact_id"),
        ("/api/messages", {"phone": "+33612345678", "text": "Hi", "type": "informational",
                           "sender_id": 0}, "sender_id"),
        ("/api/sms/analyze", {"text": "Hi", "sender_id": False}, "sender_id"),
        ("/api/sms/analyze", {"text": "Hi", "audience": {"groups": [0]}}, "groups"),
        ("/api/sms/analyze", {"text": "Hi", "audience": {"segments": [False]}}, "segments"),
        ("/api/automations", {"name": "A", "kind": "group_join", "template": "Hi",
                              "type": "informational", "group_id": False}, "group_id"),
        ("/api/groups/1/members", {"contact_ids": [0]}, "contact_ids"),
        ("/api/groups/1/members", {"contact_ids": [1.0]}, "contact_ids"),
    ],
)
def test_zero_and_false_are_no_ids(
    api: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    api.post("/api/groups", json={"name": "Clients"})
    assert field in error_of(api.post(path, json=body), 422)


def test_flags_are_json_booleans(api: TestClient) -> None:
    """`0`, `1`, `"yes"` or `"true"` are no answer to a yes-or-no field."""
    group = api.post("/api/groups", json={"name": "Clients"}).json()["id"]
    imported = api.post("/api/contacts/import", content=b"phone\n0612345678\n",
                        headers={"Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text
    api.post("/api/pages", json={"name": "S", "language": "en", "blocks": []})
    campaign = {"name": "x", "type": "promotional", "template": "hi", "group_ids": [group]}
    for value in (0, 1, "yes", "true", None):
        for flag in ("one_per_phone", "refresh_audience", "requires_approval"):
            refused = api.post("/api/campaigns", json=campaign | {flag: value})
            assert flag in error_of(refused, 422)
        refused = api.post("/api/pages/1/publish", json={"move_links": value})
        assert "move_links" in error_of(refused, 422)
        if value is not None:  # null leaves the contact's state as it is
            patched = api.patch("/api/contacts/1", json={"opted_out": value})
            assert "opted_out" in error_of(patched, 422)
    for flag in ("one_per_phone", "refresh_audience", "requires_approval"):
        assert api.post("/api/campaigns", json=campaign | {flag: True}).status_code == 201
    assert api.post("/api/pages/1/publish", json={"move_links": True}).status_code == 200


def test_a_body_of_many_keys_is_refused_with_a_small_error(api: TestClient) -> None:
    # 700,000 keys in one object (8 MB): refused whole, never one problem per key.
    many = "{" + ",".join(f'"{n:x}":0' for n in range(700_000)) + "}"
    answer = api.post("/api/sms/analyze", content=many.encode(), headers=JSON)
    message = error_of(answer, 422)
    assert "at most 1000 members" in message and len(answer.content) < 1_000
    # Within the cap, a body with many wrong fields lists the first 20 and counts the rest.
    wrong = {"text": "hi", "type": "administrative", **{f"k{n}": n for n in range(900)}}
    answer = api.post("/api/messages", json={"phone": "+33612345678", **wrong})
    message = error_of(answer, 422)
    assert message.count("Extra inputs are not permitted") == 20
    assert message.endswith("and 880 more problems") and len(answer.content) < 4_000
    # A large valid body (parsed by the parser process) reads as any other.
    contacts = [{"first_name": "p" * 60, "language": "fr"} for _ in range(5_000)]
    large = {"text": "Hi {{ contact.first_name }}", "audience": {"contacts": contacts}}
    assert len(json.dumps(large)) > PARSE_ELSEWHERE_BYTES
    analysed = api.post("/api/sms/analyze", json=large)
    assert analysed.status_code == 200, analysed.text
