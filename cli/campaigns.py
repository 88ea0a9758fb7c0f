"""`richsms campaigns ...`"""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlmodel import Session

from cli.console import err, fail, load_settings
from richsms.clock import SystemClock
from richsms.db import make_engine, session_scope
from richsms.errors import Conflict, RichsmsError
from richsms.settings import Settings
from sender.campaigns.campaign import get_campaign, request_send
from sender.campaigns.planner import Progress as PlanProgress
from sender.campaigns.planning_job import JobHooks, run_planning, worker_name
from sender.campaigns.states import PLANNING, SCHEDULED
from shortener.codes import CodeMaker

app = typer.Typer(help="Campaigns.", no_args_is_help=True)
# How often to look at the progress of a planning another worker holds.
FOLLOW_EVERY = 0.5


@app.command("send")
def send(
    campaign_id: Annotated[int, typer.Argument(help="The campaign to send.")],
    resume: Annotated[
        bool, typer.Option(help="Accepted for compatibility: an interrupted planning resumes.")
    ] = False,
) -> None:
    """Send a campaign (the same use case as POST /api/campaigns/{id}/send), then plan it
    here with a progress bar unless a worker already holds its planning."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    clock = SystemClock()
    try:
        status = _request(engine, clock, campaign_id)
        if status == SCHEDULED:
            with Session(engine) as session:
                campaign = get_campaign(session=session, campaign_id=campaign_id)
            err.print(
                f"scheduled: a worker plans it at {campaign.plan_at}, just before it sends"
            )
            return
        progress = _plan_with_progress(engine, settings, clock, campaign_id)
    except RichsmsError as exc:
        raise fail(exc) from None
    finally:
        engine.dispose()
    err.print(
        f"planned {progress.planned}, errors {progress.errors}, "
        f"left out (opted out or no consent) {progress.excluded}"
    )


def _request(engine: Engine, clock: SystemClock, campaign_id: int) -> str:
    """The campaign's status after asking to send it; a planning already under way (an
    interrupted one, say) is followed, not refused."""
    try:
        with session_scope(engine) as session:
            return request_send(session=session, clock=clock, campaign_id=campaign_id).status
    except Conflict:
        with Session(engine) as session:
            campaign = get_campaign(session=session, campaign_id=campaign_id)
        if campaign.status != PLANNING:
            raise
        return PLANNING


def _plan_with_progress(
    engine: Engine, settings: Settings, clock: SystemClock, campaign_id: int
) -> PlanProgress:
    columns = (TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("planning", total=None)

        def show(_batch: int, progress: PlanProgress) -> None:
            bar.update(task, total=progress.total, completed=progress.done)

        while True:
            run_planning(
                engine=engine,
                clock=clock,
                settings=settings,
                codes=CodeMaker(settings.secret_key.reveal()),
                worker_id=worker_name(),
                campaign_id=campaign_id,
                hooks=JobHooks(after_batch=show),
            )
            with Session(engine) as session:
                campaign = get_campaign(session=session, campaign_id=campaign_id)
            progress = PlanProgress.of(campaign)
            show(0, progress)
            if campaign.status != PLANNING:
                break
            # A worker holds it: follow its progress until it is done.
            threading.Event().wait(FOLLOW_EVERY)
    if campaign.status not in ("sending", "done"):
        reason = f": {campaign.failure}" if campaign.failure else ""
        raise RichsmsError(f"campaign {campaign_id} is {campaign.status}{reason}")
    return progress
