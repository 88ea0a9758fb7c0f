"""`richsms senders ...`: register sender numbers, with the country they send to and
their own opt-out mentions, and list them (the same services as `/api/senders`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.console import load_settings, refusing_session
from richsms.clock import SystemClock
from sender.delivery.senders import create_sender, list_senders, update_sender

app = typer.Typer(help="Sender numbers: short codes, long codes, alphanumeric ids.",
                  no_args_is_help=True)  # fmt: skip

Country = Annotated[
    str | None,
    typer.Option("--country", metavar="CC", help="ISO 3166 code of its recipients' country."),
]
OptOutFr = Annotated[
    str | None, typer.Option("--opt-out-fr", help="Its own opt-out mention in French.")
]
OptOutEn = Annotated[
    str | None, typer.Option("--opt-out-en", help="Its own opt-out mention in English.")
]


def _mentions(fr: str | None, en: str | None) -> dict[str, str] | None:
    given = {language: text for language, text in (("fr", fr), ("en", en)) if text is not None}
    return given or None


@app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help="short_code, long_code or alphanumeric.")],
    value: Annotated[str, typer.Argument(help="The number (E.164 for a long code) or id.")],
    rate: Annotated[float, typer.Option(help="Messages per second.")] = 10.0,
    types: Annotated[
        str, typer.Option("--types", help="Message types it may carry, comma-separated.")
    ] = "promotional,informational,administrative",
    country: Country = None,
    opt_out_fr: OptOutFr = None,
    opt_out_en: OptOutEn = None,
) -> None:
    """Register a sender number; prints its id."""
    with refusing_session(load_settings()) as session:
        sender = create_sender(
            session=session,
            clock=SystemClock(),
            kind=kind,
            value=value,
            rate=rate,
            allowed_types=[t.strip() for t in types.split(",") if t.strip()],
            country=country,
            opt_out=_mentions(opt_out_fr, opt_out_en),
        )
        typer.echo(sender.id)


@app.command("set")
def set_sender(
    sender_id: Annotated[int, typer.Argument(help="The sender number's id.")],
    country: Country = None,
    opt_out_fr: OptOutFr = None,
    opt_out_en: OptOutEn = None,
) -> None:
    """Change a sender number's country (\"\" for any) or its own opt-out mentions."""
    with refusing_session(load_settings()) as session:
        update_sender(
            session=session,
            sender_id=sender_id,
            country=country,
            opt_out=_mentions(opt_out_fr, opt_out_en),
        )


@app.command("list")
def list_numbers() -> None:
    """Every sender number: id, kind, value, country, rate, types, own mentions."""
    with refusing_session(load_settings()) as session:
        for s in list_senders(session=session):
            mentions = "; ".join(f"{k}: {v}" for k, v in sorted((s.opt_out or {}).items()))
            typer.echo(
                f"{s.id}\t{s.kind}\t{s.value}\t{s.country or '-'}\t{s.rate:g}/s\t"
                f"{','.join(s.allowed_types)}\t{mentions}"
            )
