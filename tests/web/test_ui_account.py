"""The settings screen: an administrator sets the brand name, the composer shows it, and
the composer's analysis warns (in the viewer's language) of a promotional text without it;
a marketer reads it and may not change it."""

from __future__ import annotations

import html

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts.roles import Role
from tests.clock import FrozenClock
from tests.web.test_ui import audience, csrf, make_user, marketer, sign_in  # noqa: F401


def test_the_brand_name_set_in_settings_is_shown_and_checked_in_the_composer(
    marketer: TestClient, engine: Engine, clock: FrozenClock  # noqa: F811
) -> None:
    group = audience(engine, clock)
    composer = marketer.get("/ui/campaigns/new").text
    assert "No brand name set" in composer and 'href="/ui/settings"' in composer
    screen = marketer.get("/ui/settings")
    assert screen.status_code == 200 and 'name="brand_name"' in screen.text
    saved = marketer.post(
        "/ui/settings",
        data={"csrf": csrf(screen.text), "brand_name": "Café Rouge"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert 'value="Café Rouge"' in marketer.get(saved.headers["location"]).text
    composer = marketer.get("/ui/campaigns/new").text
    assert "<strong>Café Rouge</strong>" in composer
    form = {
        "csrf": csrf(composer), "name": "Soldes", "type": "promotional",
        "template": "-20 % ce week-end, {{ contact.first_name }} !", f"group-{group}": "on",
    }  # fmt: skip
    warned = html.unescape(marketer.post("/ui/analyze", data=form).text)
    assert 'role="alert"' in warned and "does not name your brand (Café Rouge)" in warned
    named = form | {"template": "Café Rouge : -20 % ce week-end !"}
    assert "does not name your brand" not in marketer.post("/ui/analyze", data=named).text
    informational = form | {"type": "informational"}
    assert "brand" not in marketer.post("/ui/analyze", data=informational).text
    marketer.post("/ui/lang", data={"lang": "fr", "next": "/ui/"})
    french = html.unescape(marketer.post("/ui/analyze", data=form).text)
    assert "ne nomme pas votre marque (Café Rouge)" in french
    assert "loi canadienne anti-pourriel" in french
    too_long = marketer.post(
        "/ui/settings", data={"csrf": csrf(screen.text), "brand_name": "x" * 61}
    )
    assert too_long.status_code == 422 and "60 caractères au plus" in html.unescape(too_long.text)


def test_a_marketer_reads_the_brand_name_but_may_not_change_it(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "paul@shop.example", Role.MARKETER)
    sign_in(client, "paul@shop.example")
    screen = client.get("/ui/settings")
    assert screen.status_code == 200
    assert 'name="brand_name"' not in screen.text and "An administrator sets it." in screen.text
    refused = client.post(
        "/ui/settings", data={"csrf": csrf(screen.text), "brand_name": "Mine"}
    )
    assert refused.status_code == 403
