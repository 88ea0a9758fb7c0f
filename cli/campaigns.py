"""`richsms campaigns ...`"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlmodel import Session

from richsms.clock import SystemClock
from richsms.db import make_engine
from richsms.errors import RichsmsError
from richsms.settings import ConfigError, Settings
from sender.audience_select import count_audience
from sender.campaigns import get_campaign
from sender.planner import plan_campaign
from shortener.codes import CodeMaker

app = typer.Typer(help="Campaigns.", no_args_is_help=True)
err = Console(stderr=True)


@app.command("send")
def send(
    campaign_id: Annotated[int, typer.Argument(help="The campaign to plan and send now.")],
    resume: Annotated[bool, typer.Option(help="Continue a planning that was interrupted.")] = False,
) -> None:
    """Plan a campaign now (render, link and enqueue every recipient), with progress."""
    try:
        settings = Settings.load()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            campaign = get_campaign(session=session, campaign_id=campaign_id)
            total = count_audience(
                session=session, group_ids=campaign.group_ids, segment_ids=campaign.segment_ids
            )
        columns = (TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("planning", total=total)
            report = plan_campaign(
                engine=engine,
                campaign_id=campaign_id,
                clock=SystemClock(),
                settings=settings,
                codes=CodeMaker(settings.secret_key.reveal()),
                resume=resume,
                progress=lambda n: progress.advance(task, n),
            )
    except RichsmsError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    err.print(
        f"planned {report.planned}, errors {report.errors}, "
        f"left out (opted out or no consent) {report.excluded}"
    )
