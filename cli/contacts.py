"""`richsms contacts ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Contacts and consent.", no_args_is_help=True)
