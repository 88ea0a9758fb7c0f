"""Roles (richsms/accounts/roles.py): every declared API route and UI route, for every role,
answers as the one matrix says (refused: 403 saying which role lacks what); a cashier has
the staff page only and no API token; nobody approves a campaign they created, whichever
edges they create and approve through."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from richsms.accounts import create_token, set_role
from richsms.accounts.roles import MATRIX, Permission, Role, allows
from richsms.db import session_scope
from richsms.errors import Forbidden
from tests.clock import FrozenClock
from tests.web.staff.test_staff_page import issue
from tests.web.test_ui import audience, create_awaiting_approval, csrf, make_user, sign_in
from web.openapi import DocumentedRoute
from web.ui.base import UiRoute

MISSING = "999999"
_PARAMETER = re.compile(r"{([A-Za-z_]+)(?::[a-z]+)?}")


def concrete(path: str) -> str:
    """A declared path with each parameter filled: ids that match no row, a code, a block."""
    return _PARAMETER.sub(lambda m: "b1" if m.group(1) == "block" else MISSING, path)


def api_routes(app: Starlette) -> list[DocumentedRoute]:
    api = next(r for r in app.routes if getattr(r, "path", "") == "/api")
    found = [r for r in api.routes if isinstance(r, DocumentedRoute)]  # type: ignore[attr-defined]
    assert len(found) > 50
    return found


def ui_routes(app: Starlette) -> list[UiRoute]:
    found = [r for r in app.html_ui if isinstance(r, UiRoute)]  # type: ignore[attr-defined]
    assert len(found) == len(app.html_ui) > 40  # type: ignore[attr-defined]
    return found


def people(engine: Engine, clock: FrozenClock) -> dict[Role, str]:
    """One user of each role, and the API token of each (a cashier's token was made while
    they were a viewer: the role they have now refuses it)."""
    tokens = {}
    for role in Role:
        email = f"{role}@shop.example"
        make_user(engine, clock, email, Role.VIEWER if role == Role.CASHIER else role)
        with session_scope(engine) as session:
            tokens[role] = create_token(
                session=session, name=str(role), clock=clock, user_email=email
            )
        if role == Role.CASHIER:
            with session_scope(engine) as session:
                set_role(session=session, email=email, role="cashier")
    return tokens


def test_every_api_route_for_every_role(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    tokens = people(engine, clock)
    for route in api_routes(client.app):  # type: ignore[arg-type]
        op = route.operation
        assert op.needs is not None, op.path
        for role, token in tokens.items():
            answer = client.request(
                op.method,
                "/api" + concrete(op.path),
                headers={"Authorization": f"Bearer {token}"},
                json={} if op.method in ("POST", "PUT", "PATCH") else None,
            )
            allowed = role != Role.CASHIER and allows(role, op.needs)
            where = f"{role} {op.method} {op.path}: {answer.status_code} {answer.text[:200]}"
            assert answer.status_code < 500, where
            if allowed:
                assert answer.status_code != 403, where
            else:
                assert answer.status_code == 403, where
                error = answer.json()["error"]
                assert error["code"] == "forbidden", where
                assert f"the {role} role may not do this" in error["message"], where
                assert op.needs in error["message"], where


def test_every_ui_route_for_every_role(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    people(engine, clock)
    for role in Role:
        client.cookies.clear()
        assert sign_in(client, f"{role}@shop.example").status_code == 303  # type: ignore[attr-defined]
        token = csrf(client.get("/ui/").text)  # a page, or a refusal: both carry it
        for route in ui_routes(client.app):  # type: ignore[arg-type]
            if route.needs is None or route.path == "/ui/signout":
                continue  # open to anyone (sign-in, the language); signing out ends the test
            (method,) = route.methods - {"HEAD"}  # type: ignore[operator]
            answer = client.request(
                method,
                concrete(route.path),
                headers={"X-CSRF-Token": token},
                follow_redirects=False,
            )
            where = f"{role} {method} {route.path}: {answer.status_code} {answer.text[:300]}"
            assert answer.status_code < 500, where
            if allows(role, route.needs):
                assert answer.status_code != 403, where
            else:
                assert answer.status_code == 403, where
                assert f"Your role ({role}) may not do this." in answer.text, where


def test_the_matrix_in_words() -> None:
    """Marketers build and send, approvers approve, cashiers redeem, viewers read results;
    and the screens of each need what they say."""
    from richsms.settings import Settings
    from web.app import create_app

    results, audience_, build = Permission.RESULTS, Permission.AUDIENCE, Permission.BUILD
    assert MATRIX == {
        Role.ADMIN: set(Permission), Role.MARKETER: {results, audience_, build},
        Role.APPROVER: {results, Permission.APPROVE}, Role.CASHIER: {Permission.REDEEM},
        Role.VIEWER: {results},
    }
    app = create_app(Settings.from_mapping({"RICHSMS_DATABASE_URL": "sqlite:///:memory:"}))
    needs = {f"{method} {r.path}": r.needs for r in ui_routes(app) for method in r.methods or ()}
    assert needs["GET /ui/"] == needs["GET /ui/campaigns/{id}/export/clicks.csv"] == results
    assert needs["POST /ui/campaigns/{id}/approve"] == Permission.APPROVE
    assert needs["POST /ui/campaigns/{id}/send"] == needs["GET /ui/campaigns/new"] == build
    assert needs["GET /ui/contacts"] == audience_
    assert needs["POST /ui/senders"] == Permission.ADMINISTER


def test_a_cashier_signs_in_through_the_ui_and_redeems_on_the_staff_page(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    code = issue(engine, clock)
    make_user(engine, clock, "carl@shop.example", Role.CASHIER)
    with session_scope(engine) as session, pytest.raises(Forbidden):
        create_token(session=session, name="till", clock=clock, user_email="carl@shop.example")
    page = client.get(f"/r/{code}")
    assert f'href="/ui/signin?next=/r/{code}"' in page.text
    form = client.get(f"/ui/signin?next=/r/{code}")
    signed = client.post(
        "/ui/signin",
        data={
            "csrf": csrf(form.text),
            "email": "carl@shop.example",
            "password": "correct horse battery staple",
            "next": f"/r/{code}",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == f"/r/{code}"
    staff = client.get(f"/r/{code}")
    assert 'value="redeem"' in staff.text
    redeemed = client.post(
        f"/r/{code}", data={"action": "redeem", "csrf": csrf(staff.text), "location": "Lyon"}
    )
    assert redeemed.status_code == 200 and "carl@shop.example" in redeemed.text
    # Home for a cashier is the staff page's code box; the rest of the UI is not theirs.
    assert client.get("/ui/signin", follow_redirects=False).headers["location"] == "/r/"
    assert "carl@shop.example" in client.get("/r/").text
    assert client.get("/ui/", follow_redirects=False).status_code == 403


def test_a_viewer_signed_in_to_the_ui_cannot_redeem(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    code = issue(engine, clock)
    make_user(engine, clock, "vera@shop.example", Role.VIEWER)
    assert sign_in(client, "vera@shop.example").status_code == 303  # type: ignore[attr-defined]
    assert 'value="signin"' in client.get(f"/r/{code}").text  # not signed in here


def test_nobody_approves_their_own_campaign_through_another_edge(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example", Role.ADMIN)
    make_user(engine, clock, "paul@shop.example", Role.APPROVER)
    with session_scope(engine) as session:
        annes = create_token(session=session, name="a", clock=clock, user_email="anne@shop.example")
        pauls = create_token(session=session, name="p", clock=clock, user_email="paul@shop.example")
    sign_in(client, "anne@shop.example")
    campaign_id = create_awaiting_approval(client, engine, clock).rsplit("/", 1)[1]
    own = client.post(
        f"/api/campaigns/{campaign_id}/approve", headers={"Authorization": f"Bearer {annes}"}
    )
    assert own.status_code == 403, own.text
    assert "author cannot approve" in own.json()["error"]["message"]
    other = client.post(
        f"/api/campaigns/{campaign_id}/approve", headers={"Authorization": f"Bearer {pauls}"}
    )
    assert other.status_code == 200 and other.json()["status"] == "approved"


def test_nobody_approves_in_the_ui_what_their_token_created(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    make_user(engine, clock, "anne@shop.example", Role.ADMIN)
    with session_scope(engine) as session:
        annes = create_token(session=session, name="a", clock=clock, user_email="anne@shop.example")
    created = client.post(
        "/api/campaigns",
        headers={"Authorization": f"Bearer {annes}"},
        json={"name": "Soldes", "type": "informational", "template": "Soldes !",
              "requires_approval": True, "group_ids": [audience(engine, clock)]},
    )
    assert created.status_code == 201, created.text
    sign_in(client, "anne@shop.example")
    path = f"/ui/campaigns/{created.json()['id']}"
    own = client.post(path + "/approve", data={"csrf": csrf(client.get(path).text)})
    assert own.status_code == 403
    assert "approved" not in client.get(path).text.split("</h1>")[0]


def test_an_administrators_token_still_approves_what_a_user_created(
    api: TestClient, engine: Engine, clock: FrozenClock, app: Starlette
) -> None:
    """`richsms token create NAME` tokens belong to nobody: an administrator's, as before."""
    make_user(engine, clock, "anne@shop.example", Role.MARKETER)
    sign_in(api, "anne@shop.example")
    campaign_id = create_awaiting_approval(api, engine, clock).rsplit("/", 1)[1]
    approved = api.post(f"/api/campaigns/{campaign_id}/approve")
    assert approved.status_code == 200, approved.text
