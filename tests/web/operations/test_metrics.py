"""`GET /metrics`: what Prometheus reads, and who may read it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.accounts.roles import Role
from richsms.db import session_scope
from tests.browser.conftest import LiveServer, serve
from tests.clock import FrozenClock
from tests.web.test_ui import make_user


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels: the text is valid exposition format."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(
    client: TestClient | httpx.Client, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def token_of(engine: Engine, clock: FrozenClock, role: Role) -> str:
    email = f"{role}@shop.example"
    make_user(engine, clock, email, role)
    with session_scope(engine) as session:
        return create_token(session=session, name=str(role), clock=clock, user_email=email)


def test_a_redirect_is_counted_with_its_status_and_latency(api: TestClient, token: str) -> None:
    link = api.post("/api/links", json={"url": "https://shop.example/soldes"})
    assert link.status_code == 201, link.text
    code = link.json()["code"]
    admin = {"Authorization": f"Bearer {token}"}
    before = scrape(api, **admin)
    assert api.get(f"/{code}", follow_redirects=False).status_code == 302
    assert api.get("/Zz9Zz9Zz", follow_redirects=False).status_code == 404
    after = scrape(api, **admin)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("richsms_redirects_total", status="302") == 1
    assert grew("richsms_redirects_total", status="404") == 1
    assert grew("richsms_redirect_seconds_count") == 2
    assert grew("richsms_clicks_written_total") == 1
    assert after[("richsms_clicks_waiting", ())] == 0


def test_the_outbox_is_read_from_the_database(api: TestClient, token: str) -> None:
    sent = api.post(
        "/api/messages",
        json={"phone": "+33612345678", "text": "Votre code: 1234", "type": "administrative"},
    )
    assert sent.status_code in (201, 202), sent.text
    figures = scrape(api, Authorization=f"Bearer {token}")
    assert figures[("richsms_messages", (("state", "queued"),))] == 1
    assert figures[("richsms_messages", (("state", "delivered"),))] == 0
    assert figures[("richsms_messages_due", ())] == 1
    assert figures[("richsms_webhook_deliveries_waiting", ())] == 0
    assert ("process_cpu_seconds_total", ()) in figures  # the process's own figures


def test_only_administrators_and_local_scrapers_read_it(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    assert client.get("/metrics").status_code == 404  # not local: the test client's peer
    marketer = token_of(engine, clock, Role.MARKETER)
    refused = client.get("/metrics", headers={"Authorization": f"Bearer {marketer}"})
    assert refused.status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer rs_forged"}).status_code == 404


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    with serve(database_url) as server:
        yield server


def test_a_scraper_on_the_machine_reads_it_a_relayed_request_does_not(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as local:
        figures = scrape(local)
        assert ("richsms_messages", (("state", "queued"),)) in figures
        relayed = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 404
        assert local.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404
