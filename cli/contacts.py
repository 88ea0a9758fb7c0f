"""`richsms contacts ...`"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from cli.console import err, fail, load_settings

app = typer.Typer(help="Contacts and consent.", no_args_is_help=True)

# Rejected rows shown on the terminal; `--report` writes them all.
SHOWN_REJECTIONS: Final = 50
STAGES: Final = {"read": "Reading rows", "save": "Saving contacts"}


@app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
    ],
    region: Annotated[
        str | None,
        typer.Option(help="Country of numbers written without +code (default: settings)."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write every rejected row (row, reason) to this CSV.")
    ] = None,
) -> None:
    """Import contacts from a CSV file (UTF-8 or Latin-1, `,` or `;`).

    Rows with a bad phone number are reported with their row number (the header is
    row 1, so the first contact is row 2) and the others import.
    """
    # Imported here, not at the top: the command line starts faster when a command loads
    # only what it uses.
    from richsms.clock import SystemClock
    from richsms.db import make_engine, session_scope
    from richsms.errors import RichsmsError
    from sender.audience.csv_import import import_contacts

    settings = load_settings()
    engine = make_engine(settings.database_url)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(STAGES.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        reports = Path(tempfile.mkdtemp(prefix="richsms-import-"))
        try:
            with session_scope(engine) as session:
                result = import_contacts(
                    session=session,
                    data=file.read_bytes(),
                    clock=SystemClock(),
                    region=region or settings.default_region,
                    reports=reports,
                    source=f"import {file.name}",
                    progress=advance,
                )
            if report is not None and result.rejected_report is not None:
                shutil.copyfile(reports / f"{result.rejected_report}.csv", report)
        except RichsmsError as exc:
            progress.stop()
            raise fail(exc) from None
        finally:
            shutil.rmtree(reports, ignore_errors=True)
            engine.dispose()

    out = Console(highlight=False)
    out.print(
        f"{_count(result.rows, 'row')}: {_count(result.imported, 'new contact')}, "
        f"{result.updated} updated, {_count(result.duplicates, 'duplicate row')} merged, "
        f"{result.rejected_count} rejected",
        markup=False,
        soft_wrap=True,
    )
    if not result.rejected:
        return
    table = Table("row", "reason", title="Rejected rows (the header is row 1)")
    for rejection in result.rejected[:SHOWN_REJECTIONS]:
        table.add_row(str(rejection.row), Text(rejection.reason))
    out.print(table)
    hidden = result.rejected_count - SHOWN_REJECTIONS
    if report is not None:
        out.print(f"every rejected row is in {report}", markup=False, soft_wrap=True)
    elif hidden > 0:
        out.print(
            f"... and {hidden} more: add --report FILE to list them all",
            markup=False,
            soft_wrap=True,
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
