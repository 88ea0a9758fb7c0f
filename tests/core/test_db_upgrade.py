"""`richsms db upgrade` says what it did: the migrations it applied on a new database, and
that there was nothing to do on one already at the newest revision."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from richsms.db import make_engine
from richsms.migrate import current_revision, upgrade

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def run_upgrade(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RICHSMS_DATABASE_URL": url}
    return subprocess.run(
        [RICHSMS, "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_new_database_hears_which_migrations_were_applied(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = run_upgrade(url)
    assert first.returncode == 0, first.stderr
    assert "up to date" not in first.stderr
    assert "applied" in first.stderr and "0001 accounts" in first.stderr
    engine = make_engine(url)
    try:
        head = current_revision(engine)
    finally:
        engine.dispose()
    assert head is not None and f"now at revision {head}" in first.stderr
    again = run_upgrade(url)
    assert again.returncode == 0, again.stderr
    assert f"already up to date (revision {head})" in again.stderr
    assert "applied" not in again.stderr


def test_upgrade_lists_only_what_it_applied(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'part.db'}")
    try:
        assert [name.split()[0] for name in upgrade(engine, "0002")] == ["0001", "0002"]
        rest = upgrade(engine)
        assert rest and rest[0].startswith("0003")
        assert upgrade(engine) == []
    finally:
        engine.dispose()
