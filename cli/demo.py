"""`richsms demo`: seed the demo on an empty database and say how to sign in."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.console import err, load_settings
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.migrate import upgrade
from sender.demo import is_empty, seed_demo


def demo(
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty",
            help="Say nothing when the database already holds data (for `make serve`).",
        ),
    ] = False,
) -> None:
    """Seed a demo (audience, page, a sent campaign with clicks and redemptions) on an
    empty database, then print how to sign in."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        if if_empty and not settings.demo:
            return  # RICHSMS_DEMO=0: start empty
        if not is_empty(engine):
            if not if_empty:
                err.print("the database already holds contacts or campaigns: no demo seeded")
                raise typer.Exit(1)
            return
        err.print("seeding the demo…")
        report = seed_demo(engine=engine, settings=settings, now=SystemClock().now())
    finally:
        engine.dispose()
    if report is None:
        return
    base = settings.base_url.rstrip("/")
    err.print(
        f"[green]demo ready[/green]: {report.contacts} contacts, the campaign "
        f"\"Soldes de Noël\" sent with clicks and redemptions.\n"
        f"Sign in at {base}/ui/ as [bold]{report.email}[/bold] "
        f"with the password [bold]{report.password}[/bold]\n"
        f"(shown once; `richsms user create EMAIL` makes your own account)."
    )
