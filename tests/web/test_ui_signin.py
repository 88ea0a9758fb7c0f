"""Signing in and out of the UI (web/ui/auth.py): sessions end on the server at sign-out
and at a password change; every cookie is Secure in production; wrong passwords make
that address wait longer and longer for that account, and the owner, from an address of
their own, never waits more than a minute."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts import change_password, hash_password
from richsms.accounts.roles import Role
from richsms.db import session_scope
from richsms.settings import Settings
from tests.clock import FrozenClock
from tests.web.staff.test_staff_page import issue
from tests.web.test_ui import csrf, make_user, sign_in

PROXY = ("10.0.0.2", 41000)


def test_a_signed_out_session_is_over_even_for_a_copy_of_its_cookie(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example")
    assert sign_in(client, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]
    stolen = client.cookies["richsms_session"]
    home = client.get("/ui/")
    assert home.status_code == 200
    signed_out = client.post("/ui/signout", data={"csrf": csrf(home.text)}, follow_redirects=False)
    assert signed_out.status_code == 303
    client.cookies.set("richsms_session", stolen)
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/signin"


def test_a_password_change_ends_every_session_of_that_user(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example")
    make_user(engine, clock, "paul@shop.example", Role.VIEWER)
    sign_in(client, "paul@shop.example")
    pauls = client.cookies["richsms_session"]
    client.cookies.clear()
    sign_in(client, "anne@shop.example")
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    with session_scope(engine) as session:
        change_password(
            session=session,
            email="anne@shop.example",
            password_hash=hash_password("a brand new passphrase"),
            clock=clock,
        )
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    assert sign_in(client, "anne@shop.example").status_code == 401  # type: ignore[attr-defined]
    again = sign_in(client, "anne@shop.example", "a brand new passphrase")
    assert again.status_code == 303  # type: ignore[attr-defined]
    client.cookies.set("richsms_session", pauls)  # someone else's session goes on
    assert client.get("/ui/", follow_redirects=False).status_code == 200


def test_every_cookie_is_secure_in_production(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    from web.app import create_app

    make_user(engine, clock, "anne@shop.example")
    code = issue(engine, clock)
    production = settings.replace(env="production")
    cookies: list[str] = []
    with TestClient(create_app(production, clock=clock)) as client:
        for answer in (
            client.get("/ui/signin"),
            sign_in(client, "anne@shop.example"),
            client.post("/ui/lang", data={"lang": "fr"}, follow_redirects=False),
            client.get(f"/r/{code}"),
        ):
            cookies += answer.headers.get_list("set-cookie")  # type: ignore[attr-defined]
        home = client.get("/ui/")
        out = client.post("/ui/signout", data={"csrf": csrf(home.text)}, follow_redirects=False)
        cookies += out.headers.get_list("set-cookie")
    names = {c.split("=", 1)[0] for c in cookies}
    assert {"richsms_anon", "richsms_session", "richsms_lang", "richsms_csrf"} <= names
    assert all("; secure" in c.lower() for c in cookies), cookies


def test_wrong_passwords_make_that_address_wait_longer_each_time(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example")
    typos = [sign_in(client, "anne@shop.example", "guess").status_code for _ in range(3)]  # type: ignore[attr-defined]
    assert typos == [401, 401, 401]  # a few typos cost nothing
    waits = []
    for _ in range(9):
        assert sign_in(client, "anne@shop.example", "guess").status_code == 401  # type: ignore[attr-defined]
        refused = sign_in(client, "anne@shop.example")  # even the right password waits
        assert refused.status_code == 429  # type: ignore[attr-defined]
        assert "Too many wrong passwords" in refused.text  # type: ignore[attr-defined]
        waits.append(int(refused.headers["retry-after"]))  # type: ignore[attr-defined]
        clock.advance(timedelta(seconds=waits[-1] - 1))
        assert sign_in(client, "anne@shop.example").status_code == 429  # type: ignore[attr-defined]
        clock.advance(timedelta(seconds=1))
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert sign_in(client, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]


def test_guessing_from_many_addresses_never_keeps_the_owner_out_over_a_minute(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    from web.app import create_app

    make_user(engine, clock, "anne@shop.example")
    behind = settings.replace(trusted_proxies="10.0.0.0/8")
    with TestClient(create_app(behind, clock=clock), client=PROXY) as proxied:
        # Forty addresses guess as fast as they are let: after ten failures the account
        # itself waits, one guess at a time, never more than a minute.
        statuses, waits = [], []
        for n in range(40):
            proxied.headers["X-Forwarded-For"] = f"203.0.113.{n + 1}"
            answer = sign_in(proxied, "anne@shop.example", "guess")
            statuses.append(answer.status_code)  # type: ignore[attr-defined]
            if answer.status_code == 429:  # type: ignore[attr-defined]
                waits.append(int(answer.headers["retry-after"]))  # type: ignore[attr-defined]
                clock.advance(timedelta(seconds=waits[-1]))
        assert statuses[:11] == [401] * 11 and 429 in statuses
        assert max(waits) == 60
        clock.advance(timedelta(seconds=60))
        proxied.headers["X-Forwarded-For"] = "203.0.113.99"
        assert sign_in(proxied, "anne@shop.example", "guess").status_code == 401  # type: ignore[attr-defined]
        # The owner, from their own address, at the worst moment: a minute at most.
        proxied.headers["X-Forwarded-For"] = "198.51.100.4"
        owner = sign_in(proxied, "anne@shop.example")
        assert owner.status_code == 429  # type: ignore[attr-defined]
        assert int(owner.headers["retry-after"]) <= 60  # type: ignore[attr-defined]
        clock.advance(timedelta(seconds=60))
        assert sign_in(proxied, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]
        # Their success cleared the account's count; the guessers' addresses still wait.
        proxied.headers["X-Forwarded-For"] = "203.0.113.40"
        assert sign_in(proxied, "anne@shop.example", "guess").status_code == 401  # type: ignore[attr-defined]


def test_the_delays_are_seen_by_every_process(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    """Kept in the database, Redis or not: another process makes the guesser wait too."""
    from web.app import create_app

    make_user(engine, clock, "anne@shop.example")
    with TestClient(create_app(settings, clock=clock)) as first:
        guesses = [sign_in(first, "anne@shop.example", "guess").status_code for _ in range(4)]  # type: ignore[attr-defined]
        assert guesses == [401] * 4
    with TestClient(create_app(settings, clock=clock)) as second:
        assert sign_in(second, "anne@shop.example").status_code == 429  # type: ignore[attr-defined]
        clock.advance(timedelta(seconds=1))
        assert sign_in(second, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]
