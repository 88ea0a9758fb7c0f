"""`richsms worker`: a sending worker only."""

from __future__ import annotations


def run() -> None:
    raise SystemExit("the sending worker is not built yet")
