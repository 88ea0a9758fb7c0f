"""Limits shared through Redis: two app instances (two server processes) on one Redis see
the same buckets, for the short links' misses, sign-in attempts and the staff page's
POSTs; with Redis down the redirect still answers, limiting per process. Each test has
its own secret, hence its own key prefix, and removes only its keys."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.settings import Settings
from tests.clock import FrozenClock
from tests.web.test_ui import make_user, sign_in
from web.recipients.redirect import redis_prefix

REDIS_URL = "redis://127.0.0.1:6379/0"
PROXY = ("10.0.0.2", 41000)


@pytest.fixture
def shared(settings: Settings) -> Iterator[Settings]:
    mine = settings.replace(
        redis_url=REDIS_URL,
        trusted_proxies="10.0.0.0/8",
        secret_key=type(settings.secret_key)("redis-test-" + secrets.token_hex(16)),
    )
    yield mine
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=redis_prefix(mine) + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def issue(client: TestClient) -> str:
    response = client.post("/api/links", json={"url": "https://shop.example/"})
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_two_processes_share_one_clients_limit(
    shared: Settings, clock: FrozenClock, token: str
) -> None:
    from web.app import create_app

    guesser = {"X-Forwarded-For": "203.0.113.7"}
    first = TestClient(create_app(shared, clock=clock), client=PROXY)
    second = TestClient(create_app(shared, clock=clock), client=PROXY)
    with first, second:
        first.headers["Authorization"] = f"Bearer {token}"
        code = issue(first)
        for n in range(10):
            assert first.get(f"/GuessA{n:04d}", headers=guesser).status_code == 404
        for n in range(10):
            assert second.get(f"/GuessB{n:04d}", headers=guesser).status_code == 404
        # Twenty misses across the two: the budget is spent everywhere.
        assert first.get("/GuessA9999", headers=guesser).status_code == 429
        assert second.get("/GuessB9999", headers=guesser).status_code == 429
        # Blocked in one process, the client learns nothing from the other either.
        assert eventually(
            lambda: second.get(f"/{code}", headers=guesser, follow_redirects=False).status_code
            == 429
        )
        assert first.get(f"/{code}", headers=guesser, follow_redirects=False).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.4"}
        assert second.get(f"/{code}", headers=other, follow_redirects=False).status_code == 302
    keys = redis.Redis.from_url(REDIS_URL)
    try:
        assert keys.exists(redis_prefix(shared) + "bucket:203.0.113.7")
    finally:
        keys.close()


def test_a_block_learned_from_another_process_needs_no_miss_of_its_own(
    shared: Settings, clock: FrozenClock, token: str
) -> None:
    from web.app import create_app

    guesser = {"X-Forwarded-For": "203.0.113.8"}
    first = TestClient(create_app(shared, clock=clock), client=PROXY)
    second = TestClient(create_app(shared, clock=clock), client=PROXY)
    with first, second:
        first.headers["Authorization"] = f"Bearer {token}"
        code = issue(first)
        assert second.get(f"/{code}", headers=guesser, follow_redirects=False).status_code == 302
        for n in range(21):
            first.get(f"/Guess{n:05d}", headers=guesser)
        # The second process never saw this client miss, and still refuses it.
        assert eventually(
            lambda: second.get(f"/{code}", headers=guesser, follow_redirects=False).status_code
            == 429
        )


def test_with_redis_down_links_still_answer(
    settings: Settings, clock: FrozenClock, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    from web.app import create_app

    down = settings.replace(redis_url="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="richsms.limits"):
        with TestClient(create_app(down, clock=clock)) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            code = issue(client)
            assert client.get(f"/{code}", follow_redirects=False).status_code == 302
            statuses = [client.get(f"/Guess{n:05d}").status_code for n in range(25)]
            # Limited all the same, by this process alone.
            assert statuses[:20] == [404] * 20 and statuses[20:] == [429] * 5
    assert "Redis unreachable" in caplog.text


def test_with_redis_down_sign_in_answers_and_still_limits(
    settings: Settings, clock: FrozenClock, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    from web.app import create_app

    make_user(engine, clock, "anne@shop.example")
    down = settings.replace(redis_url="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="richsms.limits"):
        with TestClient(create_app(down, clock=clock)) as client:
            assert sign_in(client, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]
            guesses = [sign_in(client, f"u{n}@shop.example", "x").status_code for n in range(31)]  # type: ignore[attr-defined]
            assert guesses == [401] * 29 + [429] * 2  # thirty in all, counted by this process
    assert "Redis unreachable" in caplog.text


def test_sign_in_attempts_are_counted_across_processes(
    shared: Settings, clock: FrozenClock, engine: Engine
) -> None:
    from web.app import create_app

    make_user(engine, clock, "anne@shop.example")
    make_user(engine, clock, "bob@shop.example")
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    first = TestClient(create_app(shared, clock=clock), client=PROXY, headers=guesser)
    second = TestClient(create_app(shared, clock=clock), client=PROXY, headers=guesser)
    with first, second:
        # One address trying many accounts: its budget is spent in every process.
        guesses = [
            sign_in(c, f"u{n}@shop.example", "guess")
            for n, c in enumerate((first, second) * 15)
        ]
        assert [g.status_code for g in guesses] == [401] * 30  # type: ignore[attr-defined]
        assert sign_in(first, "anne@shop.example").status_code == 429  # type: ignore[attr-defined]
        assert sign_in(second, "anne@shop.example").status_code == 429  # type: ignore[attr-defined]
        second.headers["X-Forwarded-For"] = "198.51.100.5"  # someone else, another account
        assert sign_in(second, "bob@shop.example").status_code == 303  # type: ignore[attr-defined]


def test_the_staff_pages_posts_are_counted_across_processes(
    shared: Settings, clock: FrozenClock
) -> None:
    from web.app import create_app

    poster = {"X-Forwarded-For": "203.0.113.10"}
    first = TestClient(create_app(shared, clock=clock), client=PROXY, headers=poster)
    second = TestClient(create_app(shared, clock=clock), client=PROXY, headers=poster)
    with first, second:
        statuses = [c.post("/r/NOEL-123456").status_code for c in (first, second) * 15]
        assert 429 not in statuses
        assert first.post("/r/NOEL-123456").status_code == 429
        assert second.post("/r/NOEL-123456").status_code == 429
