"""Short links at the edge: limits checked before lookups, client addresses behind trusted
proxies, referrers kept to their origin, error pages in the visitor's language, link
creation that refuses what it cannot redirect to, and bulk creation that never holds the
SQLite write lock long enough to stall a redirect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from sqlalchemy import Engine, func, insert, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import session_scope
from richsms.settings import Settings
from sender.audience.models import Contact
from shortener.links import LinkSpec, create_links_in_chunks
from shortener.models import Click, Link
from tests.clock import FrozenClock

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
PROXY = ("10.0.0.2", 41000)  # the load balancer in front of richsms


def add_contacts(engine: Engine, clock: FrozenClock, count: int) -> None:
    now = clock.now()
    rows = [
        {
            "phone": f"+3361{n:07d}",
            "first_name": "",
            "last_name": "",
            "email": "",
            "language": "fr",
            "timezones": "Europe/Paris",
            "fields": {},
            "status": "subscribed",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, count + 1)
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            conn.execute(insert(Contact), rows[start : start + 5_000])


def issue(api: TestClient, **body: object) -> str:
    response = api.post("/api/links", json={"url": "https://shop.example/sale", **body})
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def clicks(engine: Engine) -> list[Click]:
    with session_scope(engine) as session:
        return list(session.exec(select(Click).order_by(Click.id)).scalars())  # type: ignore[call-overload]


@pytest.fixture
def behind_proxy(settings: Settings, clock: FrozenClock, engine: Engine) -> Iterator[TestClient]:
    """The app behind a load balancer it trusts, every request arriving from it."""
    from web.app import create_app

    app = create_app(settings.replace(trusted_proxies="10.0.0.0/8"), clock=clock)
    with session_scope(engine) as session:
        token = create_token(session=session, name="proxy", clock=clock)
    with TestClient(app, raise_server_exceptions=False, client=PROXY) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


# --- the miss limiter ---------------------------------------------------------------


def test_a_client_over_its_limit_learns_nothing(api: TestClient) -> None:
    code = issue(api)
    statuses = [api.get(f"/Guess{n:05d}", follow_redirects=False).status_code for n in range(25)]
    assert statuses[:20] == [404] * 20 and statuses[20:] == [429] * 5
    # Over its limit, an existing code and a guess look the same.
    existing = api.get(f"/{code}", follow_redirects=False)
    guess = api.get("/Guess99999", follow_redirects=False)
    assert existing.status_code == guess.status_code == 429
    assert existing.content == guess.content
    assert existing.headers["retry-after"] == "60"


def test_taps_on_real_links_spend_nothing(api: TestClient) -> None:
    code = issue(api)
    for _ in range(40):
        assert api.get(f"/{code}", follow_redirects=False).status_code == 302


# --- client addresses ---------------------------------------------------------------


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(
    behind_proxy: TestClient, engine: Engine
) -> None:
    code = issue(behind_proxy)
    tap = behind_proxy.get(
        f"/{code}",
        headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.9", "User-Agent": IPHONE},
        follow_redirects=False,
    )
    assert tap.status_code == 302
    behind_proxy.get(
        f"/{code}",
        headers={"Forwarded": 'for="[2001:db8:aa::1]:4711";proto=https', "User-Agent": IPHONE},
        follow_redirects=False,
    )
    behind_proxy.get(f"/{code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    stored = clicks(engine)
    assert [c.ip for c in stored] == ["203.0.113.0/24", "2001:db8:aa::/48", "10.0.0.0/24"]
    assert len({c.visitor for c in stored}) == 3  # the visitor hash follows the address


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(behind_proxy: TestClient) -> None:
    code = issue(behind_proxy)
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(20):
        behind_proxy.get(f"/Guess{n:05d}", headers=guesser, follow_redirects=False)
    assert behind_proxy.get(f"/{code}", headers=guesser, follow_redirects=False).status_code == 429
    other = {"X-Forwarded-For": "198.51.100.4"}
    assert behind_proxy.get(f"/{code}", headers=other, follow_redirects=False).status_code == 302


def test_an_untrusted_peer_cannot_choose_its_address(
    settings: Settings, clock: FrozenClock, engine: Engine, api: TestClient
) -> None:
    from web.app import create_app

    code = issue(api)
    with TestClient(create_app(settings, clock=clock), client=("198.51.100.9", 5000)) as client:
        for n in range(20):
            client.get(
                f"/Guess{n:05d}",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                follow_redirects=False,
            )
        spoofed = client.get(
            f"/{code}", headers={"X-Forwarded-For": "203.0.113.200"}, follow_redirects=False
        )
        assert spoofed.status_code == 429  # the headers changed nothing: one client
    with TestClient(create_app(settings, clock=clock), client=("198.51.100.9", 5000)) as client:
        client.get(f"/{code}", headers={"X-Forwarded-For": "203.0.113.7"}, follow_redirects=False)
    assert clicks(engine)[-1].ip == "198.51.100.0/24"


# --- referrers ----------------------------------------------------------------------


def test_only_the_referrers_origin_is_stored(api: TestClient, engine: Engine) -> None:
    code = issue(api)
    for referrer in (
        "https://mail.example.com/inbox/42?session=s3cr3t&user=alice@example.com#msg",
        "android-app://com.google.android.gm/",
        "not a url",
    ):
        api.get(f"/{code}", headers={"Referer": referrer}, follow_redirects=False)
    assert [c.referrer for c in clicks(engine)] == [
        "https://mail.example.com",
        "android-app://com.google.android.gm",
        "",
    ]


# --- error pages --------------------------------------------------------------------


class _Page(HTMLParser):
    """Checks a page is well-formed enough: a lang, a title, an h1, and nothing fetched."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.tags: list[str] = []
        self.text: list[str] = []
        self.fetches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if tag == "html" and name == "lang":
                self.lang = value or ""
            if name in ("src", "href", "action", "srcset") or "url(" in (value or ""):
                self.fetches.append(f"{tag} {name}={value}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def page(response: object) -> _Page:
    content: bytes = response.content  # type: ignore[attr-defined]
    assert len(content) < 1024
    parsed = _Page()
    parsed.feed(content.decode("utf-8"))
    parsed.close()
    assert {"html", "meta", "title", "body", "h1", "p"} <= set(parsed.tags)
    assert parsed.fetches == []
    return parsed


@pytest.mark.parametrize(
    ("accept", "lang", "words"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr", "Lien introuvable"),
        ("fr", "fr", "Lien introuvable"),
        ("en-US,en;q=0.9,fr;q=0.8", "en", "Link not found"),
        ("de-DE,de;q=0.9", "en", "Link not found"),
        ("", "en", "Link not found"),
        ("en;q=0.5, fr;q=0.7", "fr", "Lien introuvable"),
        ("fr;q=garbage, en", "en", "Link not found"),
    ],
)
def test_not_found_page_speaks_the_visitors_language(
    api: TestClient, accept: str, lang: str, words: str
) -> None:
    response = api.get("/NoSuchCode1", headers={"Accept-Language": accept}, follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-language"] == lang
    assert "Accept-Language" in response.headers["vary"]
    parsed = page(response)
    assert parsed.lang == lang and words in "".join(parsed.text)


def test_expired_page_speaks_french_to_french_visitors(
    api: TestClient, clock: FrozenClock
) -> None:
    code = issue(api, expires_at="2026-11-24T13:00:00Z")
    api.post(f"/api/links/{code}/disable")
    import time

    for _ in range(300):  # the redirect cache follows the change within its poll interval
        gone = api.get(f"/{code}", headers={"Accept-Language": "fr-FR"}, follow_redirects=False)
        if gone.status_code == 410:
            break
        time.sleep(0.01)
    assert gone.status_code == 410
    parsed = page(gone)
    assert parsed.lang == "fr" and "Lien expiré" in "".join(parsed.text)


# --- link creation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http:// /",
        "http://a.com:abc/",
        "http://.com/",
        "http://shop.example/soldes d'été",
        "https://shop.example/a\tb",
        "http://café.example:port/",
        "http://exa mple.com/",
        "http://-shop.example/",
        "http://shop..example/",
        "http://shop_example.com/",
        "http://1.2.3/",
        "http://[zz::1]/",
        "http://a.com:99999/",
        "http://a.com:0/",
        "https:///path-only",
    ],
)
def test_malformed_targets_are_refused(api: TestClient, url: str) -> None:
    response = api.post("/api/links", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


def test_a_space_never_reaches_the_location(api: TestClient) -> None:
    code = issue(api, url="https://shop.example/soldes%20d%C3%A9t%C3%A9?q=a%20b")
    location = api.get(f"/{code}", follow_redirects=False).headers["location"]
    assert location == "https://shop.example/soldes%20d%C3%A9t%C3%A9?q=a%20b"
    code = issue(api, url="https://Café.example:8443/ça va".replace(" ", "%20"))
    location = api.get(f"/{code}", follow_redirects=False).headers["location"]
    assert location == "https://xn--caf-dma.example:8443/%C3%A7a%20va"


def test_links_for_contacts_or_campaigns_that_do_not_exist_are_not_found(
    api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    add_contacts(engine, clock, 3)
    unknown = api.post("/api/links", json={"url": "https://a.example/", "contact_id": 4})
    assert unknown.status_code == 404
    missing = api.post("/api/links", json={"url": "https://a.example/", "campaign_id": 9})
    assert missing.status_code == 404 and "campaign" in missing.json()["error"]["message"]
    bulk = api.post(
        "/api/links/bulk", json={"url": "https://a.example/", "contact_ids": [1, 2, 7, 3]}
    )
    assert bulk.status_code == 404 and "7" in bulk.json()["error"]["message"]
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Link)).scalar_one() == 0
    ok = api.post("/api/links/bulk", json={"url": "https://a.example/", "contact_ids": [1, 2, 3]})
    assert ok.status_code == 201


def test_bulk_creation_lets_redirects_through_between_chunks(
    app: Starlette, api: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    """While 10,000 links are written, taps keep being answered with their click stored:
    each chunk is its own short transaction, so the click writer gets the lock between
    chunks instead of waiting for the whole bulk to commit."""
    total = 10_000
    add_contacts(engine, clock, total)
    code = issue(api)  # link 1
    done = threading.Event()

    def bulk() -> None:
        try:
            create_links_in_chunks(
                engine=engine,
                codes=app.context.codes,
                clock=clock,
                spec=LinkSpec(url="https://shop.example/"),
                contact_ids=list(range(1, total + 1)),
                chunk=250,
            )
        finally:
            done.set()

    worker = threading.Thread(target=bulk)
    worker.start()
    answered_mid_bulk = 0
    while not done.is_set():
        assert api.get(f"/{code}", follow_redirects=False).status_code == 302
        with engine.connect() as conn:
            links = conn.execute(select(func.count()).select_from(Link)).scalar_one()
        if 1 < links < total + 1:
            answered_mid_bulk += 1
    worker.join()
    assert answered_mid_bulk > 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Link)).scalar_one() == total + 1
