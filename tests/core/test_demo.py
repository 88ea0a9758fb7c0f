"""The demo a newcomer sees: seeded once, on an empty database only, through the
product's own use cases, with results to read and an account to sign in with."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from richsms.db import read_session
from richsms.settings import Settings
from sender.demo import DEMO_EMAIL, seed_demo
from sender.results.campaign_stats import campaign_report
from shortener.models import Click
from tests.clock import FrozenClock

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def test_the_demo_has_a_sent_campaign_with_results(
    engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    report = seed_demo(engine=engine, settings=settings, now=clock.now())
    assert report is not None and report.contacts == 24
    with read_session(engine) as session:
        figures = campaign_report(
            session=session,
            campaign_id=report.campaign_id,
            price_per_segment=Decimal("0.05"),
            currency="EUR",
        )
    delivery, engagement = figures["delivery"], figures["engagement"]
    assert delivery["sent"] == delivery["delivered"] == 24
    assert engagement["unique_clicks"] > 5 and engagement["bot_clicks"] > 0
    assert engagement["redemptions"] > 0 and engagement["page_events"]["scratch_revealed"] > 0
    assert (engagement["opt_outs"], engagement["replies"]) == (1, 2)
    assert figures["reading_delay"]["median_seconds"] is not None
    # Every click of the story happened before now: results never show the future.
    assert figures["clicks_over_time"]["start"] < clock.now().isoformat()
    assert sum(figures["clicks_over_time"]["per_minute"]) == engagement["human_clicks"]
    with read_session(engine) as session:
        last = session.execute(select(func.max(Click.clicked_at))).scalar_one()
    assert last is not None and last <= clock.now()
    assert seed_demo(engine=engine, settings=settings, now=clock.now()) is None


def test_the_demo_account_signs_in_to_a_living_dashboard(
    engine: Engine, settings: Settings, clock: FrozenClock, client: TestClient
) -> None:
    report = seed_demo(engine=engine, settings=settings, now=clock.now())
    assert report is not None
    form = client.get("/ui/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    signed = client.post(
        "/ui/signin",
        data={"csrf": token.group(1), "email": DEMO_EMAIL, "password": report.password},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    dashboard = client.get("/ui/")
    assert "Soldes de Noël" in dashboard.text and "Nouvelle collection" in dashboard.text
    results = client.get(f"/ui/campaigns/{report.campaign_id}")
    assert results.status_code == 200 and results.text.count("<svg") == 2
    simulator = client.get("/ui/simulator")
    assert "-20 % pour Noel" in simulator.text


def test_richsms_demo_seeds_once_and_says_how_to_sign_in(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "RICHSMS_SECRET_KEY": "demo-test-secret-0123456789abcdef0123456789",
    }

    def demo(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RICHSMS, "demo", *args],
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=120,
        )

    first = demo("--if-empty")
    assert first.returncode == 0, first.stderr
    assert DEMO_EMAIL in first.stderr and "password" in first.stderr
    again = demo("--if-empty")
    assert (again.returncode, again.stderr) == (0, "")
    refused = demo()
    assert refused.returncode == 1 and "no demo seeded" in refused.stderr
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    off = demo("--if-empty", RICHSMS_DATABASE_URL=empty, RICHSMS_DEMO="0")
    assert (off.returncode, off.stderr) == (0, "")
