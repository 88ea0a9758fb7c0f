"""An A/B test on a campaign's results screen: each variant's figures side by side with
the interval and the decision; while it waits, the marketer's button sends a variant."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import col
from starlette.testclient import TestClient

from richsms.db import read_session, session_scope
from richsms.settings import Settings
from sender.campaigns.ab_decision import decide_due_tests
from sender.campaigns.campaign import CampaignSpec, create_campaign, request_send
from sender.delivery.models import Message
from tests.clock import FrozenClock
from tests.sender.campaigns.test_ab_tests import plan, send_due
from tests.sender.campaigns.test_planning_job import seed
from tests.web.test_ui import csrf, marketer  # noqa: F401  (a fixture)


def test_the_results_screen_shows_the_variants_and_the_marketer_decides(
    marketer: TestClient,  # noqa: F811
    engine: Engine,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    group_id = seed(engine, clock, 20)
    spec = CampaignSpec(
        name="Soldes",
        type="promotional",
        template="Soldes {{ link }}",
        target_url="https://shop.example/soldes",
        group_ids=[group_id],
        window_start="00:00",
        window_end="23:59",
        rate=1000,
        ab_test={
            "variants": [{"template": "Vite {{ link }}"}, {"template": "Dernier jour {{ link }}"}],
            "test_share": 0.5,
            "decide_after_minutes": 30,
            "if_no_winner": "wait",
        },
    )
    with session_scope(engine) as session:
        campaign = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
    path = f"/ui/campaigns/{campaign.id}"
    before = marketer.get(path + "/send").text
    assert 'id="summary-ab-test"' in before and "50.0 % of these recipients" in before
    with session_scope(engine) as session:
        request_send(session=session, clock=clock, campaign_id=campaign.id or 0)
    plan(engine, clock, settings)
    send_due(engine, clock)

    screen = marketer.get(path).text
    assert 'id="test-variant"' in screen
    tested = marketer.post(
        path + "/test", data={"csrf": csrf(screen), "phone": "+33781000001", "variant": "1"}
    )
    assert tested.status_code == 200 and "Test message queued." in tested.text
    with read_session(engine) as session:
        test_text = session.execute(
            select(col(Message.text)).where(col(Message.is_test).is_(True))
        ).scalar_one()
    assert test_text.startswith("Dernier jour ")
    assert 'id="ab-test-results"' in screen
    assert "Vite {{ link }}" in screen and "Dernier jour {{ link }}" in screen
    assert screen.count('<td>5</td>') >= 4  # recipients and sent, per variant
    assert 'id="ab-test-comparison"' in screen and "95% interval" in screen
    assert 'id="ab-test-due"' in screen

    clock.advance(timedelta(minutes=31))
    assert decide_due_tests(engine=engine, clock=clock) == [campaign.id]
    screen = marketer.get(path).text
    assert "choose the variant the rest of the audience gets" in screen
    assert "Send B to the rest" in screen
    chosen = marketer.post(
        path + "/ab_test/decision", data={"csrf": csrf(screen), "variant": "1"}
    )
    assert chosen.status_code == 200
    assert "Variant chosen: the rest of the audience gets it." in chosen.text
    assert "Variant B chosen by a marketer" in chosen.text
    plan(engine, clock, settings)
    with read_session(engine) as session:
        rest = session.execute(
            select(col(Message.text)).where(
                col(Message.campaign_id) == campaign.id, col(Message.is_test).is_(False)
            )
        ).scalars()
        assert sum(1 for t in rest if t.startswith("Dernier jour ")) == 15

    french = marketer.post("/ui/lang", data={"lang": "fr"})
    assert french.status_code in (200, 303)
    assert "Variante B choisie par un marketeur" in marketer.get(path).text
