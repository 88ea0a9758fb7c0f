"""`richsms events ...`: the raw clicks and page events, and how long they are kept."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.console import err, load_settings
from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.settings import MAX_RETENTION_DAYS
from sender.results.retention import prune_events

app = typer.Typer(help="Raw clicks and page events.", no_args_is_help=True)


@app.command("prune")
def prune(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            max=MAX_RETENTION_DAYS,
            help="Keep this many days instead of RICHSMS_EVENT_RETENTION_DAYS.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Fold the raw clicks and page events older than RICHSMS_EVENT_RETENTION_DAYS into
    the daily rollups the results read, then delete them (what the worker's chore loop
    does daily), and print what was folded and deleted."""
    settings = load_settings()
    retention = days if days is not None else settings.event_retention_days
    pruned = prune_events(
        engine=make_engine(settings.database_url),
        now=SystemClock().now(),
        retention_days=retention,
        budget_ms=settings.write_budget_ms / 2,
    )
    figures = pruned.as_dict()
    if as_json:
        typer.echo(json.dumps(figures))
        return
    typer.echo(
        f"kept {retention} days: events before {figures['before']} folded and deleted\n"
        f"clicks: {figures['clicks_deleted']} deleted, folded into "
        f"{figures['link_days_written']} link days of {figures['links_folded']} links "
        f"and {figures['minute_buckets_written']} campaign time buckets\n"
        f"page events: {figures['page_events_deleted']} deleted, folded"
    )
    if not pruned.batches:
        err.print("nothing was older than that")
