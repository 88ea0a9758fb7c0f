"""Alembic, driven from code: `richsms db upgrade`, `make serve` and the tests use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from richsms import write_watch

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The revision this code's migrations end at: a database elsewhere is current when
    its `current_revision` is this one."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None  # the chain is linear and never empty
    return head


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Apply the pending migrations up to `revision`; their names, oldest first."""
    config = alembic_config(engine)
    with write_watch.exempt(engine):
        before = current_revision(engine)
        command.upgrade(config, revision)
        after = current_revision(engine)
    if after is None or after == before:
        return []
    scripts = ScriptDirectory.from_config(config)
    applied = scripts.iterate_revisions(after, before)  # newest first
    return [_name(script.revision, script.doc) for script in reversed(list(applied))]


def upgrade_summary(applied: list[str], engine: Engine) -> str:
    """What `richsms db upgrade` says: the migrations it applied, or that there were none."""
    at = current_revision(engine) or "(none)"
    if not applied:
        return f"database already up to date (revision {at})"
    lines = [f"applied {len(applied)} migration{'s' if len(applied) > 1 else ''}:"]
    lines += [f"  {name}" for name in applied]
    lines.append(f"database now at revision {at}")
    return "\n".join(lines)


def _name(revision: str, doc: str | None) -> str:
    first = doc.strip().splitlines()[0] if doc and doc.strip() else ""
    return f"{revision} {first}" if first else revision


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)
