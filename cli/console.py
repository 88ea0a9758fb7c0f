"""What every `richsms` command shares: its stderr console and its two ways of giving up,
exit 2 for a configuration it cannot run with, exit 1 for an action the domain refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlmodel import Session

from richsms.db import make_engine, session_scope
from richsms.errors import RichsmsError
from richsms.settings import ConfigError, Settings

err = Console(stderr=True)


def load_settings() -> Settings:
    """The settings, or exit 2 saying what is wrong with them."""
    try:
        return Settings.load()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def fail(exc: RichsmsError) -> typer.Exit:
    """The exit (1) for a refused action, once its message is printed: `raise fail(exc)`."""
    err.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(1)


@contextmanager
def refusing_session(settings: Settings) -> Iterator[Session]:
    """One unit of work on the configured database; an action the domain refuses rolls
    it back and exits 1 (`fail`)."""
    try:
        with session_scope(make_engine(settings.database_url)) as session:
            yield session
    except RichsmsError as exc:
        raise fail(exc) from None
