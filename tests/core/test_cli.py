"""The console script, run as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.db import session_scope
from richsms.settings import Settings
from tests.clock import FrozenClock

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def run(args: list[str], settings: Settings, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
    }
    return subprocess.run(
        [RICHSMS, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_token_create_prints_a_token_the_api_accepts(
    settings: Settings, client: TestClient
) -> None:
    result = run(["token", "create", "ci"], settings)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("rs_")
    ok = client.post(
        "/api/sms/analyze", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.status_code == 200


def test_user_create_reads_the_password_from_stdin(settings: Settings) -> None:
    created = run(["user", "create", "Ops@Example.com"], settings, stdin="correct horse battery\n")
    assert created.returncode == 0, created.stderr
    again = run(["user", "create", "ops@example.com"], settings, stdin="correct horse battery\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    short = run(["user", "create", "b@example.com"], settings, stdin="short\n")
    assert short.returncode == 1
    assert "12 characters" in short.stderr


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: Path, settings: Settings) -> None:
    fresh = settings.replace(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    result = run(["db", "upgrade"], fresh)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh.db").exists()
    assert run(["token", "create", "x"], fresh).returncode == 0


def test_sms_analyze_text_and_stdin_json() -> None:
    text = run_plain(["sms", "analyze", "Ça coûte 5€"])
    assert "UCS-2" in text and "'û'" in text and "'Ç'" not in text
    lines = run_plain(["sms", "analyze", "--json"], stdin="hello\n" + "a" * 161 + "\nça\n")
    rows = [json.loads(line) for line in lines.splitlines()]
    assert [r["encoding"] for r in rows] == ["GSM-7", "GSM-7", "UCS-2"]
    assert [r["segments"] for r in rows] == [1, 2, 1]
    assert rows[2]["non_gsm"] == ["ç"]
    assert {"encoding", "characters", "units", "segments"} <= rows[0].keys()


def run_plain(args: list[str], stdin: str = "") -> str:
    result = subprocess.run(
        [RICHSMS, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RICHSMS_ENV": "development"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_production_refuses_to_start_with_the_default_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [RICHSMS, "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RICHSMS_ENV": "production", "RICHSMS_SECRET_KEY": ""},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "RICHSMS_SECRET_KEY" in result.stderr


def test_tokens_are_listed_and_revoked(
    settings: Settings, client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    with session_scope(engine) as session:
        first = create_token(session=session, name="ci", clock=clock)
        second = create_token(session=session, name="zapier", clock=clock)

    def status(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.post("/api/sms/analyze", json={"text": "hi"}, headers=headers).status_code

    assert status(first) == 200
    revoked = run(["token", "revoke", "1"], settings)
    assert revoked.returncode == 0, revoked.stderr
    assert "token 1 (ci) revoked" in revoked.stderr
    assert (status(first), status(second)) == (401, 200)
    listed = run(["token", "list"], settings)
    assert listed.returncode == 0, listed.stderr
    assert first not in listed.stdout and second not in listed.stdout  # only hashes are kept
    rows = listed.stdout.splitlines()
    (ci,) = [line for line in rows if " ci " in line]
    (zapier,) = [line for line in rows if " zapier " in line]
    assert "active" not in ci and "active" in zapier
    missing = run(["token", "revoke", "99"], settings)
    assert missing.returncode == 1 and "no API token with id 99" in missing.stderr


def test_users_get_roles_and_their_own_tokens_carry_them(
    settings: Settings, client: TestClient
) -> None:
    password = "correct horse battery\n"
    made = run(["user", "create", "vera@example.com", "--role", "viewer"], settings, password)
    assert made.returncode == 0 and "viewer vera@example.com created" in made.stderr
    bad = run(["user", "create", "x@example.com", "--role", "boss"], settings, password)
    assert bad.returncode == 1 and "unknown role 'boss'" in bad.stderr
    token = run(["token", "create", "vera's", "--user", "vera@example.com"], settings).stdout
    headers = {"Authorization": f"Bearer {token.strip()}"}
    assert client.get("/api/campaigns", headers=headers).status_code == 200
    refused = client.post("/api/sms/analyze", json={"text": "hi"}, headers=headers)
    assert refused.status_code == 403
    assert "the viewer role may not do this" in refused.json()["error"]["message"]
    promoted = run(["user", "role", "vera@example.com", "marketer"], settings)
    assert promoted.returncode == 0 and "vera@example.com is now marketer" in promoted.stderr
    assert client.post("/api/sms/analyze", json={"text": "hi"}, headers=headers).status_code == 200
    # A cashier holds no API token: none is made, and theirs stop working.
    assert run(["user", "role", "vera@example.com", "cashier"], settings).returncode == 0
    assert client.get("/api/campaigns", headers=headers).status_code == 403
    none = run(["token", "create", "till", "--user", "vera@example.com"], settings)
    assert none.returncode == 1 and "a cashier holds no API token" in none.stderr
    missing = run(["token", "create", "x", "--user", "nobody@example.com"], settings)
    assert missing.returncode == 1 and "no user nobody@example.com" in missing.stderr
    listed = run(["user", "list"], settings)
    assert "vera@example.com" in listed.stdout and "cashier" in listed.stdout


def test_user_password_sets_a_new_one(settings: Settings) -> None:
    made = run(["user", "create", "ops@example.com"], settings, "correct horse battery\n")
    assert made.returncode == 0
    changed = run(["user", "password", "ops@example.com"], settings, "another long passphrase\n")
    assert changed.returncode == 0 and "their sessions ended" in changed.stderr
    short = run(["user", "password", "ops@example.com"], settings, "short\n")
    assert short.returncode == 1 and "12 characters" in short.stderr
