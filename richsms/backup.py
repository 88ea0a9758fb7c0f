"""A consistent copy of a live SQLite database, taken while the service runs.

Copying the file is wrong: a click batch committed mid-copy leaves a torn file, and the
write-ahead log holds what the file does not have yet. SQLite's online backup reads the
database through a read transaction instead: in WAL mode a reader never blocks the
writers, so the redirect keeps recording clicks while the copy is taken, and the copy
is the database as it was when the read began, log included.

The copy is made in one step (all pages under one read transaction): a stepped backup
restarts each time another connection writes, which with clicks arriving every few
milliseconds may never finish. It is written beside the target and renamed over it only
once it is complete and passes `quick_check`, so a backup interrupted midway never
leaves a file that looks like a backup.

PostgreSQL is backed up with its own tool (`pg_dump`): `backup_command` says how.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from richsms.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class BackupResult:
    target: Path
    bytes: int
    seconds: float
    revision: str | None  # the schema's migration, as the copy holds it


def sqlite_path(database_url: str) -> Path:
    """The file of a `sqlite:///path` URL; refuses other databases and in-memory ones."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise InvalidInput(
            "richsms backup copies SQLite databases; back up PostgreSQL with pg_dump: {command}",
            code="backup_not_sqlite",
            params={"command": backup_command(database_url)},
        )
    if not url.database or url.database == ":memory:":
        raise InvalidInput("An in-memory database has nothing to back up", code="backup_memory")
    return Path(url.database)


def backup_command(database_url: str) -> str:
    """The pg_dump command line for a PostgreSQL URL (custom format, restorable with
    pg_restore), without its password: pg_dump reads it from PGPASSWORD or ~/.pgpass."""
    url = make_url(database_url)
    parts = ["pg_dump", "--format=custom", "--file=richsms.dump"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(url.database or "")
    return " ".join(parts)


def backup_sqlite(database_url: str, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the live database of `database_url` to `target` (see the module docstring)."""
    source = sqlite_path(database_url)
    if not source.is_file():
        raise InvalidInput(
            "No database at {path}", code="backup_no_database", params={"path": str(source)}
        )
    target = target.resolve()
    if target == source.resolve():
        raise InvalidInput("The backup cannot overwrite the database itself", code="backup_self")
    if target.exists() and not overwrite:
        raise InvalidInput(
            "{path} exists; choose another file or overwrite it (--force)",
            code="backup_exists",
            params={"path": str(target)},
        )
    if not target.parent.is_dir():
        raise InvalidInput(
            "No directory {path}", code="backup_no_directory", params={"path": str(target.parent)}
        )
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    started = time.monotonic()
    try:
        # A busy timeout: the read transaction waits for a checkpoint's brief exclusive moment.
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src:
            with closing(sqlite3.connect(partial)) as dst:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                verdict = dst.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    raise InvalidInput(
                        "The copy failed its check: {verdict}",
                        code="backup_corrupt",
                        params={"verdict": verdict},
                    )
                revision = _revision(dst)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(
        target=target,
        bytes=target.stat().st_size,
        seconds=time.monotonic() - started,
        revision=revision,
    )


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # a database never migrated
        return None
    return None if row is None else str(row[0])
