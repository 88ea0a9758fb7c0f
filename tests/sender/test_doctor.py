"""`richsms doctor` against a working installation and a broken setting of each kind: a
real database, Redis, SMSC, Twilio-shaped API and served app, never a mock."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from richsms.db import make_engine
from richsms.migrate import head_revision, upgrade
from sender.doctor import Finding, examine
from tests.browser.conftest import LiveServer, serve
from tests.clock import FrozenClock
from tests.conftest import TEST_SECRET
from tests.sender.delivery.providers.peers import Smsc, free_port
from tests.sender.delivery.providers.twilio_server import SID, TOKEN, TwilioServer

RICHSMS = str(Path(sys.executable).with_name("richsms"))
REDIS = "redis://127.0.0.1:6379/0"


def _env(live: LiveServer, **overrides: str) -> dict[str, str]:
    env = {
        "RICHSMS_DATABASE_URL": live.settings.database_url,
        "RICHSMS_SECRET_KEY": TEST_SECRET,
        "RICHSMS_BASE_URL": live.url,
        "RICHSMS_SHORT_URL": live.url,
    }
    env.update(overrides)
    return env


def _run(env: dict[str, str], clock: FrozenClock | None = None) -> dict[str, Finding]:
    findings = examine(env, clock=clock, env_file=None, timeout=5)
    return {f.check: f for f in findings}


def _now_clock() -> FrozenClock:
    from datetime import UTC, datetime

    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    """The app served on loopback: the public URL the doctor calls."""
    with serve(database_url) as server:
        yield server


def test_a_working_installation_is_all_ok(live: LiveServer) -> None:
    found = _run(_env(live, RICHSMS_REDIS_URL=REDIS), _now_clock())
    assert list(found) == [
        "settings",
        "database",
        "migrations",
        "redis",
        "provider",
        "public URL",
        "clock",
    ]
    assert all(f.ok for f in found.values()), [f.line() for f in found.values()]
    assert found["migrations"].detail == f"at {head_revision()}, the latest"
    assert found["provider"].detail.startswith("console")


def test_a_bad_setting_is_named_and_nothing_else_is_tried(live: LiveServer) -> None:
    found = _run(_env(live, RICHSMS_SMPP_WINDOW="ten"))
    assert list(found) == ["settings"]
    assert not found["settings"].ok and "RICHSMS_SMPP_WINDOW" in found["settings"].detail
    production = _run(
        _env(live, RICHSMS_ENV="production", RICHSMS_SECRET_KEY="x" * 40), _now_clock()
    )
    assert not production["settings"].ok  # pages over plain http in production
    assert "https" in production["settings"].detail


def test_an_unreachable_or_missing_database(live: LiveServer, tmp_path: Path) -> None:
    down = _run(_env(live, RICHSMS_DATABASE_URL="postgresql://ops:secret@127.0.0.1:1/richsms"))
    assert not down["database"].ok
    assert "127.0.0.1:1" in down["database"].detail and "secret" not in down["database"].detail
    assert "migrations" not in down
    missing = tmp_path / "nowhere.db"
    absent = _run(_env(live, RICHSMS_DATABASE_URL=f"sqlite:///{missing}"))
    assert not absent["database"].ok and "richsms db upgrade" in absent["database"].detail
    assert not missing.exists()  # the doctor never creates a database


def test_pending_migrations_are_named(live: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0010")
    engine.dispose()
    found = _run(_env(live, RICHSMS_DATABASE_URL=f"sqlite:///{path}"))
    assert found["database"].ok
    assert not found["migrations"].ok
    assert found["migrations"].detail == (
        f"at 0010, {head_revision()} pending: run `richsms db upgrade`"
    )


def test_redis_that_does_not_answer(live: LiveServer) -> None:
    found = _run(_env(live, RICHSMS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    assert not found["redis"].ok
    assert found["database"].ok and found["provider"].ok  # the others are still checked


def test_an_smpp_bind_refused_or_nowhere(live: LiveServer, tmp_path: Path) -> None:
    smsc = Smsc(tmp_path / "smsc.jsonl").start("--refuse-bind")
    try:
        smpp = {
            "RICHSMS_PROVIDER": "smpp",
            "RICHSMS_SMPP_PORT": str(smsc.port),
            "RICHSMS_SMPP_SYSTEM_ID": "shop",
            "RICHSMS_SMPP_PASSWORD": "wrong",
        }
        refused = _run(_env(live, **smpp))
    finally:
        smsc.kill()
    assert not refused["provider"].ok
    assert "invalid password" in refused["provider"].detail
    nowhere = _run(_env(live, **{**smpp, "RICHSMS_SMPP_PORT": str(free_port())}))
    assert not nowhere["provider"].ok
    bound = Smsc(tmp_path / "ok.jsonl").start()
    try:
        accepted = _run(_env(live, **{**smpp, "RICHSMS_SMPP_PORT": str(bound.port)}))
    finally:
        bound.kill()
    assert accepted["provider"].ok, accepted["provider"].line()
    assert bound.accepted() == []  # bound and unbound, nothing sent


def test_an_http_provider_with_wrong_credentials(live: LiveServer) -> None:
    with TwilioServer() as twilio:
        http = {
            "RICHSMS_PROVIDER": "http",
            "RICHSMS_HTTP_BASE_URL": twilio.base_url,
            "RICHSMS_HTTP_ACCOUNT_SID": SID,
        }
        wrong = _run(_env(live, **http, RICHSMS_HTTP_AUTH_TOKEN="not-it"))
        right = _run(_env(live, **http, RICHSMS_HTTP_AUTH_TOKEN=TOKEN))
        assert twilio.requests == []  # nothing was sent
    assert not wrong["provider"].ok and "refused" in wrong["provider"].detail
    assert right["provider"].ok, right["provider"].line()


def test_a_public_url_that_is_not_us(live: LiveServer) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/"
    down = _run(_env(live, RICHSMS_BASE_URL=nobody))
    assert not down["public URL"].ok and nobody in down["public URL"].detail
    with TwilioServer() as other:
        elsewhere = _run(_env(live, RICHSMS_BASE_URL=other.base_url + "/"))
    assert not elsewhere["public URL"].ok and "not richsms" in elsewhere["public URL"].detail


def test_a_clock_an_hour_off(live: LiveServer) -> None:
    ahead = _now_clock()
    ahead.advance(timedelta(hours=1))
    found = _run(_env(live), ahead)
    assert not found["clock"].ok
    source = "database" if live.settings.database_url.startswith("postgresql") else "public URL"
    ahead_by = float(found["clock"].detail.split(" s ")[0])
    assert 3540 <= ahead_by <= 3601  # an hour, less the checks' time (a Date has whole seconds)
    assert f"ahead of the {source}" in found["clock"].detail


def test_the_command_prints_one_line_each_and_fails(live: LiveServer, tmp_path: Path) -> None:
    env = {**os.environ, **_env(live, RICHSMS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")}
    result = subprocess.run(
        [RICHSMS, "doctor", "--timeout", "5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stderr
    assert [line.split(":")[0] for line in lines] == [
        "ok   settings",
        "ok   database",
        "ok   migrations",
        "FAIL redis",
        "ok   provider",
        "ok   public URL",
        "ok   clock",
    ]
