"""A campaign's frequency cap through the API: the account's by default; its own, or none,
set by an approver only (a marketer is refused, naming the field); the send summary says
how many recipients it leaves out."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.accounts.roles import Role
from richsms.db import session_scope
from richsms.i18n import gettext
from richsms.settings import Settings
from sender.delivery.frequency_caps import REASON
from tests.clock import FrozenClock
from tests.sender.delivery.test_frequency_caps import contacts, group, promote
from tests.web.test_ui import make_user
from web.app import create_app
from web.ui.campaigns.send import reason_label

OWN = {"max": 3, "days": 7, "gap_hours": 0}


@pytest.fixture
def capped(settings: Settings) -> Settings:
    return settings.replace(frequency_cap="2/7d", frequency_gap_hours=16)


@pytest.fixture
def people(engine: Engine, clock: FrozenClock) -> dict[Role, str]:
    """An API token for a marketer, an approver and an administrator."""
    tokens = {}
    for role in (Role.MARKETER, Role.APPROVER, Role.ADMIN):
        email = f"{role}@shop.example"
        make_user(engine, clock, email, role)
        with session_scope(engine) as session:
            tokens[role] = create_token(session=session, name=role, clock=clock, user_email=email)
    return tokens


@pytest.fixture
def served(capped: Settings, clock: FrozenClock) -> Any:
    with TestClient(create_app(capped, clock=clock), raise_server_exceptions=False) as client:
        yield client


def as_(role: Role, people: dict[Role, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {people[role]}"}


def body(group_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Soldes",
        "type": "promotional",
        "template": "Soldes ! {{ link }}",
        "target_url": "https://shop.example/soldes",
        "group_ids": [group_id],
        **extra,
    }


def test_only_an_approver_sets_a_campaigns_own_cap(
    served: TestClient,
    engine: Engine,
    clock: FrozenClock,
    capped: Settings,
    people: dict[Role, str],
) -> None:
    anne, bruno = contacts(engine, clock, 2)
    promote(engine, clock, capped, [anne])
    promote(engine, clock, capped, [anne])  # Anne had two this week
    audience = group(engine, clock, [anne, bruno])
    marketer, approver, admin = (as_(r, people) for r in (Role.MARKETER, Role.APPROVER, Role.ADMIN))

    refused = served.post(
        "/api/campaigns", json=body(audience, frequency_cap=OWN), headers=marketer
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("frequency_cap: only an approver")
    created = served.post("/api/campaigns", json=body(audience), headers=marketer)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["frequency_cap"] == "account"
    url = f"/api/campaigns/{campaign['id']}"
    patch = served.patch(url, json={"frequency_cap": None}, headers=marketer)
    assert patch.status_code == 403
    assert served.patch(url, json={"name": "Soldes !"}, headers=marketer).status_code == 200
    summary = served.get(f"{url}/summary", headers=marketer).json()
    assert summary["excluded"]["frequency_cap"] == 1 and summary["recipients"] == 1

    cap = served.put(f"{url}/frequency-cap", json={"frequency_cap": OWN}, headers=marketer)
    assert cap.status_code == 403
    cap = served.put(f"{url}/frequency-cap", json={"frequency_cap": OWN}, headers=approver)
    assert cap.status_code == 200, cap.text
    assert cap.json()["frequency_cap"] == OWN
    summary = served.get(f"{url}/summary", headers=marketer).json()
    assert summary["excluded"]["frequency_cap"] == 0 and summary["recipients"] == 2
    cap = served.put(f"{url}/frequency-cap", json={"frequency_cap": None}, headers=approver)
    assert cap.json()["frequency_cap"] is None
    assert "frequency_cap" not in served.get(f"{url}/summary", headers=marketer).json()["excluded"]
    copy = served.post(f"{url}/duplicate", json={}, headers=marketer).json()
    assert copy["frequency_cap"] == "account"  # an approver's cap is not carried over

    # An administrator may approve, so may give a campaign its cap when creating it.
    own = served.post("/api/campaigns", json=body(audience, frequency_cap=OWN), headers=admin)
    assert own.status_code == 201 and own.json()["frequency_cap"] == OWN

    assert served.post(f"{url}/send", headers=marketer).status_code == 202
    late = served.put(f"{url}/frequency-cap", json={"frequency_cap": OWN}, headers=approver)
    assert late.status_code == 409


@pytest.mark.parametrize(
    "cap",
    [
        {"max": 0, "days": 7},
        {"max": 3},
        {"max": 3, "days": 366},
        {"max": 3, "days": 7, "gap_hours": -1},
        {"max": "3", "days": 7},
        {"max": 3, "days": 7, "every": 2},
        "weekly",
    ],
)
def test_a_malformed_cap_is_refused_naming_the_field(
    served: TestClient, engine: Engine, clock: FrozenClock, people: dict[Role, str], cap: Any
) -> None:
    audience = group(engine, clock, contacts(engine, clock, 1))
    admin = as_(Role.ADMIN, people)
    answer = served.post("/api/campaigns", json=body(audience, frequency_cap=cap), headers=admin)
    assert answer.status_code == 422, answer.text
    assert "frequency_cap" in answer.text


def test_the_reason_reads_in_the_viewers_language() -> None:
    def french(text: str) -> str:
        return gettext("fr", text)

    for said in ("frequency_cap", REASON):  # the summary's code, planning's reason
        assert reason_label(said, french).startswith("Plafond de fréquence")
