"""`richsms backup FILE`: a consistent copy of the live SQLite database, taken by the real
command while the click writer keeps committing batches; PostgreSQL is pointed to pg_dump."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from richsms.db import make_engine
from richsms.migrate import head_revision
from shortener.anonymize import IpAnonymizer
from shortener.clicks import ClickEvent, ClickStore
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_link
from shortener.models import Click
from tests.clock import FrozenClock

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def _backup(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RICHSMS_DATABASE_URL": url}
    return subprocess.run(
        [RICHSMS, "backup", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _clicks(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Click)).scalar_one())


def _sqlite(sqlite_template: Path, tmp_path: Path) -> tuple[str, Engine]:
    path = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    return url, make_engine(url)


def test_a_backup_taken_while_clicks_are_written_is_whole_and_loses_none_before_it(
    sqlite_template: Path, tmp_path: Path, clock: FrozenClock
) -> None:
    url, engine = _sqlite(sqlite_template, tmp_path)
    with Session(engine) as session:
        spec = LinkSpec(url="https://e.x/")
        link = create_link(session=session, codes=CodeMaker("s"), clock=clock, spec=spec)
        session.commit()
        assert link.id is not None
        link_id = link.id
    store = ClickStore(engine, IpAnonymizer("truncate", "k"))
    stop = threading.Event()
    written = [0]
    failures: list[BaseException] = []

    def clicks() -> None:  # batches of 20 clicks, committed back to back, as under load
        at = datetime(2026, 11, 24, 12, tzinfo=UTC)
        try:
            while not stop.is_set():
                store.write([ClickEvent(link_id, None, at, "GET", "ua", "", "198.51.100.7")] * 20)
                written[0] += 20
        except BaseException as exc:  # the test fails on it below
            failures.append(exc)

    writer = threading.Thread(target=clicks)
    writer.start()
    try:
        while written[0] < 2_000:  # a database with something in it, still growing
            stop.wait(0.01)
        before = written[0]
        result = _backup(url, str(tmp_path / "copy.db"))
        after = written[0]
    finally:
        stop.set()
        writer.join()
        store.close()
    assert result.returncode == 0, result.stderr
    assert not failures, failures  # the writer never waited out a lock, never failed
    assert after > before  # clicks were committed while the copy was taken
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copied = copy.execute("SELECT count(*) FROM click").fetchone()[0]
    assert before <= copied <= after  # every click committed before the copy began is in it
    assert copied % 20 == 0  # whole batches only: a transaction is in the copy or not
    revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert revision == head_revision()
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
    copy.close()
    assert "backed up to" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
    assert _clicks(engine) == written[0]
    engine.dispose()


def test_a_backup_never_overwrites_without_force_nor_the_database_itself(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url, engine = _sqlite(sqlite_template, tmp_path)
    engine.dispose()
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older backup")
    refused = _backup(url, str(target))
    assert refused.returncode == 1
    assert "exists" in refused.stderr and "--force" in refused.stderr
    assert target.read_bytes() == b"an older backup"
    forced = _backup(url, str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert sqlite3.connect(target).execute("PRAGMA quick_check").fetchone()[0] == "ok"
    itself = _backup(url, str(tmp_path / "live.db"), "--force")
    assert itself.returncode == 1
    assert "database itself" in itself.stderr
    nowhere = _backup(url, str(tmp_path / "missing" / "copy.db"))
    assert nowhere.returncode == 1
    assert "No directory" in nowhere.stderr


def test_postgresql_is_pointed_to_pg_dump(tmp_path: Path) -> None:
    result = _backup("postgresql://ops@db.internal:5433/richsms", str(tmp_path / "x"))
    assert result.returncode == 1
    assert (
        "pg_dump --format=custom --file=richsms.dump --host=db.internal --port=5433 "
        "--username=ops richsms"
    ) in " ".join(result.stderr.split())
    assert not (tmp_path / "x").exists()
