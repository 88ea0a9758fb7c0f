"""Bilingual campaigns and sender numbers by country through the API (issue 20): what a
marketer sends, reads back, edits and duplicates; what is refused, naming the field."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def audience(api: TestClient) -> int:
    group = api.post("/api/groups", json={"name": "Québec et France"}).json()["id"]
    return int(group)


def sender(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post(
        "/api/senders",
        json={"rate": 10, "allowed_types": ["promotional", "informational"], **body},
    )
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_sender_number_has_a_country_and_its_own_mentions(api: TestClient) -> None:
    canadian = sender(
        api, kind="long_code", value="+15145550000", country="ca",
        opt_out={"en": "Text STOP to quit"},
    )  # fmt: skip
    assert canadian["country"] == "CA"
    assert canadian["opt_out"] == {"en": "Text STOP to quit"}
    french = sender(api, kind="short_code", value="36180")
    assert french["country"] is None and french["opt_out"] == {}
    changed = api.patch(f"/api/senders/{french['id']}", json={"country": "FR"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["country"] == "FR"
    assert api.get(f"/api/senders/{french['id']}").json()["country"] == "FR"
    unknown = api.patch(f"/api/senders/{french['id']}", json={"country": "XX"})
    assert unknown.status_code == 422
    assert "XX" in unknown.json()["error"]["message"]


def test_a_campaign_carries_its_language_translations_and_numbers(api: TestClient) -> None:
    group = audience(api)
    canadian = sender(api, kind="long_code", value="+15145550000", country="CA")
    french = sender(api, kind="short_code", value="36180", country="FR")
    body = {
        "name": "Soldes / Sale",
        "type": "promotional",
        "language": "fr",
        "template": "Soldes -20% {{ contact.first_name }}",
        "translations": {"en": {"template": "Sale 20% off {{ contact.first_name }}"}},
        "group_ids": [group],
        "sender_ids": [canadian["id"], french["id"]],
    }
    created = api.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["language"] == "fr"
    assert campaign["translations"] == {
        "en": {"template": "Sale 20% off {{ contact.first_name }}", "page_id": None}
    }
    assert campaign["sender_ids"] == [canadian["id"], french["id"]]
    assert campaign["sender_id"] == canadian["id"]  # the first: a one-number reader still reads
    assert campaign["default_sender_id"] is None
    shown = api.get(f"/api/campaigns/{campaign['id']}").json()
    assert shown["translations"] == campaign["translations"]

    edited = api.patch(
        f"/api/campaigns/{campaign['id']}",
        json={"translations": {"en": {"template": "Sale!"}}, "default_sender_id": french["id"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["translations"]["en"]["template"] == "Sale!"
    assert edited.json()["default_sender_id"] == french["id"]
    assert edited.json()["sender_ids"] == [canadian["id"], french["id"]]

    copy = api.post(f"/api/campaigns/{campaign['id']}/duplicate", json={}).json()
    assert copy["translations"] == edited.json()["translations"]
    assert copy["sender_ids"] == [canadian["id"], french["id"]]
    assert copy["default_sender_id"] == french["id"]


def test_sender_id_alone_is_a_one_number_list(api: TestClient) -> None:
    group = audience(api)
    one = sender(api, kind="long_code", value="+15145550000", country="CA")
    other = sender(api, kind="short_code", value="36180", country="FR")
    created = api.post(
        "/api/campaigns",
        json={
            "name": "Un numéro", "type": "promotional", "template": "Bonjour",
            "group_ids": [group], "sender_id": one["id"],
        },
    ).json()  # fmt: skip
    assert created["sender_ids"] == [one["id"]] and created["language"] == "fr"
    moved = api.patch(f"/api/campaigns/{created['id']}", json={"sender_id": other["id"]}).json()
    assert moved["sender_ids"] == [other["id"]] and moved["sender_id"] == other["id"]


def test_a_translation_failing_the_checks_is_refused_naming_its_language(
    api: TestClient,
) -> None:
    group = audience(api)
    base = {"name": "Soldes", "type": "promotional", "template": "Soldes", "group_ids": [group]}
    unknown = api.post(
        "/api/campaigns",
        json={**base, "translations": {"en": {"template": "Hi {{ contact.nickname }}"}}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"].startswith("translations.en.template:")
    assert "nickname" in unknown.json()["error"]["message"]

    too_long = api.post(
        "/api/campaigns", json={**base, "translations": {"en": {"template": "Sale! " * 400}}}
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"]["message"].startswith("translations.en.template:")
    assert "segments" in too_long.json()["error"]["message"]

    main = api.post(
        "/api/campaigns", json={**base, "translations": {"fr": {"template": "Soldes"}}}
    )
    assert main.status_code == 422
    assert "translations.fr" in main.json()["error"]["message"]

    for wrong in ({"de": {"template": "Hallo"}}, {"en": {"text": "Hi"}}, {"en": "Hi"}):
        response = api.post("/api/campaigns", json={**base, "translations": wrong})
        assert response.status_code == 422, wrong
        assert "translations" in response.json()["error"]["message"]

    no_page = api.post(
        "/api/campaigns",
        json={**base, "translations": {"en": {"template": "Sale {{ link }}", "page_id": 999}}},
    )
    assert no_page.status_code == 404
    assert "translations.en.page_id" in no_page.json()["error"]["message"]
