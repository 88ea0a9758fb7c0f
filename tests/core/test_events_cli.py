"""`richsms events prune`, run as an operator runs it (a real subprocess, the real clock):
clicks older than the retention folded and deleted, what was done printed, nonsense
refused with the setting named."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from richsms.db import read_session
from richsms.settings import ConfigError, Settings
from shortener.click_days import ClickDay
from shortener.models import Click
from tests.clock import FrozenClock
from tests.core.test_cli import RICHSMS, run

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"


def _counts(engine: Engine) -> tuple[int, int]:
    with read_session(engine) as session:
        clicks = session.execute(select(func.count()).select_from(Click)).scalar_one()
        days = session.execute(select(func.sum(ClickDay.clicks))).scalar_one()
    return int(clicks), int(days or 0)


def test_prune_folds_and_deletes_what_is_older_than_the_setting(
    api: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    code = api.post("/api/links", json={"url": "https://shop.example/"}).json()["code"]
    for moment in (datetime(2023, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)):
        clock.set(moment)
        for _ in range(3):
            tap = api.get(f"/{code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
            assert tap.status_code == 302
    clock.set(datetime.now(UTC))
    assert api.get(f"/{code}", headers={"User-Agent": IPHONE}, follow_redirects=False)
    before = api.get(f"/api/links/{code}/stats").json()

    pruned = run(["events", "prune", "--json"], settings)
    assert pruned.returncode == 0, pruned.stderr
    figures = json.loads(pruned.stdout)
    assert figures["clicks_deleted"] == 6 and figures["link_days_written"] == 2
    assert _counts(engine) == (1, 6)
    assert api.get(f"/api/links/{code}/stats").json() == before

    again = run(["events", "prune"], settings)
    assert again.returncode == 0, again.stderr
    assert "clicks: 0 deleted" in again.stdout and "nothing was older" in again.stderr

    shorter = run(["events", "prune", "--days", "1"], settings)
    assert shorter.returncode == 0 and "clicks: 0 deleted" in shorter.stdout  # today's stays
    assert run(["events", "prune", "--days", "0"], settings).returncode == 2


def test_a_retention_that_makes_no_sense_is_refused_naming_the_variable(
    tmp_path: Path,
) -> None:
    assert Settings.from_mapping({}).event_retention_days == 395
    for nonsense in ("0", "-5", "forever", "99999", "1.5"):
        with pytest.raises(ConfigError, match="RICHSMS_EVENT_RETENTION_DAYS"):
            Settings.from_mapping({"RICHSMS_EVENT_RETENTION_DAYS": nonsense})
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "RICHSMS_EVENT_RETENTION_DAYS": "0",
    }
    result = subprocess.run(
        [RICHSMS, "events", "prune"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2, result.stdout
    assert "RICHSMS_EVENT_RETENTION_DAYS must be a number of days" in result.stderr
