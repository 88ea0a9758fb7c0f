"""The short link as a recipient meets it, through the real app and database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from richsms.db import session_scope
from sender.audience.models import Contact
from tests.clock import FrozenClock

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def add_contacts(engine: Engine, clock: FrozenClock, count: int) -> None:
    """Contacts 1..count, written straight to the table (links need real contacts)."""
    with session_scope(engine) as session:
        session.add_all(
            Contact(phone=f"+3361{n:07d}", created_at=clock.now(), updated_at=clock.now())
            for n in range(1, count + 1)
        )


def issue(api: TestClient, **body: object) -> dict[str, object]:
    response = api.post("/api/links", json={"url": "https://shop.example/sale", **body})
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


def tap(client: TestClient, code: object, method: str = "GET", agent: str = IPHONE) -> object:
    return client.request(method, f"/{code}", headers={"User-Agent": agent}, follow_redirects=False)


def stats(api: TestClient, code: object) -> dict[str, object]:
    data: dict[str, object] = api.get(f"/api/links/{code}/stats").json()
    return data


def test_a_tap_redirects_and_is_counted(api: TestClient) -> None:
    link = issue(api, utm={"source": "sms"})
    assert link["short_url"] == f"https://ex.co/{link['code']}"
    response = tap(api, link["code"])
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response.headers["location"] == "https://shop.example/sale?utm_source=sms"  # type: ignore[attr-defined]
    assert response.headers["cache-control"] == "private, no-store"  # type: ignore[attr-defined]
    counted = stats(api, link["code"])
    assert counted["clicks"] == 1 and counted["human_clicks"] == 1
    assert counted["first_click_at"] == "2026-11-24T12:00:00Z"


def test_the_request_cannot_steer_the_target(api: TestClient) -> None:
    link = issue(api)
    response = api.get(f"/{link['code']}?url=https://evil.example/", follow_redirects=False)
    assert response.headers["location"] == "https://shop.example/sale"


def test_head_answers_the_same_headers_and_counts_as_a_bot(api: TestClient) -> None:
    link = issue(api)
    response = tap(api, link["code"], method="HEAD")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response.headers["location"] == "https://shop.example/sale"  # type: ignore[attr-defined]
    counted = stats(api, link["code"])
    assert (counted["clicks"], counted["human_clicks"], counted["bot_clicks"]) == (1, 0, 1)


def test_previews_count_as_clicks_but_not_people(api: TestClient) -> None:
    link = issue(api)
    tap(api, link["code"], agent="WhatsApp/2.23.20.0 A")
    tap(api, link["code"], agent="facebookexternalhit/1.1")
    tap(api, link["code"])
    tap(api, link["code"])
    counted = stats(api, link["code"])
    assert (counted["clicks"], counted["human_clicks"], counted["bot_clicks"]) == (4, 2, 2)
    assert counted["unique_clicks"] == 1  # one phone, one day


def test_personal_links_count_one_unique_click_per_contact(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    add_contacts(engine, clock, 7)
    link = issue(api, contact_id=7)
    for _ in range(3):
        tap(api, link["code"])
    assert stats(api, link["code"])["unique_clicks"] == 1


def test_unknown_codes_get_a_small_404_page_then_429(api: TestClient) -> None:
    first = api.get("/NoSuchCode9", follow_redirects=False)
    assert first.status_code == 404
    assert first.headers["content-type"].startswith("text/html")
    assert len(first.content) < 1024
    statuses = [api.get(f"/Guess{n:05d}", follow_redirects=False).status_code for n in range(40)]
    assert 429 in statuses
    assert statuses.index(429) < 25


def test_expired_links_answer_410(api: TestClient, clock: FrozenClock) -> None:
    link = issue(api, expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    assert tap(api, link["code"]).status_code == 302  # type: ignore[attr-defined]
    clock.advance(timedelta(hours=1, seconds=1))
    gone = tap(api, link["code"])
    assert gone.status_code == 410  # type: ignore[attr-defined]
    assert stats(api, link["code"])["clicks"] == 1


def test_a_past_expiry_is_refused(api: TestClient, clock: FrozenClock) -> None:
    response = api.post(
        "/api/links",
        json={
            "url": "https://ex.example/",
            "expires_at": (clock.now() - timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 422
    assert "past" in response.json()["error"]["message"]


def test_disabling_takes_effect_in_every_process(
    api: TestClient, app: Starlette, settings: object
) -> None:
    from web.app import create_app

    link = issue(api)
    # A second app on the same database stands for another server process.
    other = create_app(app.context.settings, clock=app.context.clock, cache_poll_interval=0.02)
    with TestClient(other) as second:
        assert tap(second, link["code"]).status_code == 302  # type: ignore[attr-defined]
        assert api.post(f"/api/links/{link['code']}/disable").json()["disabled_at"]
        assert _eventually(lambda: tap(second, link["code"]).status_code == 410)  # type: ignore[attr-defined]
    assert tap(api, link["code"]).status_code == 410  # type: ignore[attr-defined]


def _eventually(check: object, attempts: int = 200) -> bool:
    import time

    for _ in range(attempts):
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_bulk_issue_gives_each_contact_its_own_code(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    add_contacts(engine, clock, 500)
    response = api.post(
        "/api/links/bulk", json={"url": "https://ex.example/", "contact_ids": list(range(1, 501))}
    )
    assert response.status_code == 201
    links = response.json()["links"]
    assert [entry["contact_id"] for entry in links] == list(range(1, 501))
    assert len({entry["code"] for entry in links}) == 500
    sample = links[250]
    assert tap(api, sample["code"]).status_code == 302  # type: ignore[attr-defined]


def test_qr_code_is_an_svg_of_the_short_link(api: TestClient) -> None:
    link = issue(api)
    response = api.get(f"/api/links/{link['code']}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.lstrip().startswith("<svg")
    assert str(link["short_url"]) in response.text


def test_bad_link_requests_get_clear_errors(api: TestClient) -> None:
    assert api.post("/api/links", json={"url": "javascript:alert(1)"}).status_code == 422
    both = api.post("/api/links", json={"url": "https://a.example/", "page_id": 1})
    assert both.status_code == 422 and "exactly one" in both.json()["error"]["message"]
    assert (
        api.post(
            "/api/links", content=b"{nope", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert api.get("/api/links/Nope12345/stats").status_code == 404


def test_app_routes_are_not_taken_for_codes(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
