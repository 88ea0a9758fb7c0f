"""The `richsms` command line: a thin edge over the same services the web app uses."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli import campaigns as campaigns_cli
from cli import contacts as contacts_cli
from cli import demo as demo_cli
from cli import events as events_cli
from cli import senders as senders_cli
from cli.console import err, fail, load_settings, refusing_session
from richsms.clock import SystemClock
from richsms.db import make_engine, session_scope
from richsms.errors import RichsmsError

app = typer.Typer(help="richsms: rich SMS campaigns with tracked links.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
user_app = typer.Typer(
    help="Web UI users and their roles (admin, marketer, approver, cashier, viewer).",
    no_args_is_help=True,
)
sms_app = typer.Typer(help="SMS text tools.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(sms_app, name="sms")
app.add_typer(contacts_cli.app, name="contacts")
app.add_typer(campaigns_cli.app, name="campaigns")
app.add_typer(events_cli.app, name="events")
app.add_typer(senders_cli.app, name="senders")
app.command("demo")(demo_cli.demo)

@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from richsms.migrate import upgrade, upgrade_summary

    settings = load_settings()
    engine = make_engine(settings.database_url)
    err.print(upgrade_summary(upgrade(engine), engine))


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the token.")],
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="EMAIL", help="The user whose token it is (their role)."),
    ] = None,
) -> None:
    """Print a new API token: an administrator's, or with --user that user's, carrying
    their role (a cashier holds none). It is shown once; only its hash is stored."""
    from richsms.accounts import create_token

    with refusing_session(load_settings()) as session:
        token = create_token(session=session, name=name, clock=SystemClock(), user_email=user)
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """List API tokens: id, name, when created, when revoked (tokens are never shown)."""
    from rich.table import Table

    from richsms.accounts import list_tokens

    settings = load_settings()
    with session_scope(make_engine(settings.database_url)) as session:
        tokens = [
            (t.id, t.name, t.created_at, t.revoked_at) for t in list_tokens(session=session)
        ]
    table = Table("id", "name", "created", "revoked")
    for token_id, name, created, revoked in tokens:
        table.add_row(
            str(token_id),
            name,
            created.isoformat(timespec="seconds"),
            revoked.isoformat(timespec="seconds") if revoked else "active",
        )
    Console(highlight=False, width=200).print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")],
) -> None:
    """Revoke an API token: requests carrying it are refused from now on."""
    from richsms.accounts import revoke_token

    with refusing_session(load_settings()) as session:
        token = revoke_token(session=session, token_id=token_id, clock=SystemClock())
        name = token.name
    err.print(f"token {token_id} ({name}) revoked")


_ROLE_HELP = "admin, marketer, approver, cashier or viewer."


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("create")
def user_create(
    email: str,
    role: Annotated[str, typer.Option("--role", help=_ROLE_HELP)] = "admin",
) -> None:
    """Create a web UI user (an administrator unless --role says otherwise); the password
    is read from stdin."""
    from richsms.accounts import create_admin
    from richsms.accounts.roles import parse_role

    try:
        chosen = parse_role(role)  # before the password is asked for
    except RichsmsError as exc:
        raise fail(exc) from None
    password = _read_password()
    with refusing_session(load_settings()) as session:
        user = create_admin(
            session=session, email=email, password=password, clock=SystemClock(), role=chosen
        )
    err.print(f"{user.role} {user.email} created")


@user_app.command("role")
def user_role(email: str, role: Annotated[str, typer.Argument(help=_ROLE_HELP)]) -> None:
    """Give a user another role: it holds from their next request, their tokens' too."""
    from richsms.accounts import set_role

    with refusing_session(load_settings()) as session:
        user = set_role(session=session, email=email, role=role)
        shown = f"{user.email} is now {user.role}"
    err.print(shown)


@user_app.command("password")
def user_password(email: str) -> None:
    """Set a user's password (read from stdin): every session they have open ends."""
    from richsms.accounts import change_password, hash_password

    settings = load_settings()
    try:
        hashed = hash_password(_read_password())  # slow on purpose: before the transaction
    except RichsmsError as exc:
        raise fail(exc) from None
    with refusing_session(settings) as session:
        user = change_password(
            session=session, email=email, password_hash=hashed, clock=SystemClock()
        )
        shown = f"password of {user.email} changed; their sessions ended"
    err.print(shown)


@user_app.command("list")
def user_list() -> None:
    """List users: email, role, when created."""
    from rich.table import Table

    from richsms.accounts import list_users

    with refusing_session(load_settings()) as session:
        users = [(u.email, u.role, u.created_at) for u in list_users(session=session)]
    table = Table("email", "role", "created")
    for email, role, created in users:
        table.add_row(email, role, created.isoformat(timespec="seconds"))
    Console(highlight=False, width=200).print(table)


@sms_app.command("analyze")
def sms_analyze(
    text: Annotated[
        str | None, typer.Argument(help="Text; one message per line of stdin if omitted.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Encoding, length and segments of a message, exactly."""
    from sender.compose.encoding import analyze

    messages = [text] if text is not None else (line.rstrip("\r\n") for line in sys.stdin)
    out = Console()
    for message in messages:
        result = analyze(message)
        if as_json:
            sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
            continue
        forced = ""
        if result.non_gsm:
            forced = " — UCS-2 forced by " + " ".join(repr(c) for c in result.non_gsm)
        out.print(
            f"{result.encoding}: {result.characters} characters, {result.units} units, "
            f"{result.segments} segment{'s' if result.segments != 1 else ''}, "
            f"{result.remaining} left in the last{forced}",
            markup=False,
            highlight=False,
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes.")] = 1,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run the sending worker in-process.")
    ] = True,
) -> None:
    """Serve the web app, the API, short links and landing pages."""
    import os

    from granian import Granian
    from granian.constants import Interfaces

    from web.serve import RUN_WORKER_FLAG

    settings = load_settings()  # refuse a bad configuration before spawning anything
    if worker and workers > 1 and settings.is_sqlite:
        # Each process would run a sending worker; SQLite takes exactly one.
        err.print(
            "[red]error:[/red] with SQLite, serve one process with the sending worker, "
            "or add --no-worker and run `richsms worker` once"
        )
        raise typer.Exit(2)
    os.environ[RUN_WORKER_FLAG] = "1" if worker else "0"
    Granian(
        "web.serve:app_from_environment",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
        # A web process that dies (killed, out of memory) is started again; the others
        # keep answering meanwhile. Granian's default stops them all instead.
        respawn_failed_workers=True,
        log_access=False,
    ).serve()


@app.command()
def backup(
    target: Annotated[Path, typer.Argument(help="The file the copy is written to.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Copy the SQLite database while the service runs (SQLite's online backup: clicks
    keep being recorded). For PostgreSQL, prints the pg_dump command to use instead."""
    from richsms.backup import backup_sqlite

    settings = load_settings()
    try:
        result = backup_sqlite(settings.database_url, target, overwrite=force)
    except RichsmsError as exc:
        raise fail(exc) from None
    err.print(
        f"backed up to {result.target}: {result.bytes:,} bytes in {result.seconds:.2f} s, "
        f"schema {result.revision or 'not migrated'}",
        highlight=False,
    )


@app.command()
def doctor(
    timeout: Annotated[float, typer.Option(help="Seconds each check may take.")] = 10.0,
) -> None:
    """Check the settings, the database and its migrations, Redis, the provider (bind and
    unbind), the public URL and the clock: one line each; exit 1 if any is wrong."""
    from sender.doctor import examine

    findings = examine(timeout=timeout)
    for finding in findings:
        typer.echo(finding.line())
    if not all(finding.ok for finding in findings):
        raise typer.Exit(1)


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics on this port (/metrics), off if not given."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface of the metrics port.")] = (
        "127.0.0.1"
    ),
) -> None:
    """Run a sending worker only (run several against PostgreSQL)."""
    from cli.worker import run

    run(metrics_port, metrics_host)


def main() -> None:
    app()
