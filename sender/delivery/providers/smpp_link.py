"""The SMPP bind of the moment, shared by the supervisor that opens it (`smpp`) and the
submits that write to it (`smpp_submit`)."""

from __future__ import annotations

import asyncio

import smpp34

from sender.delivery.providers.base import ProviderHealth


class BoundSession:
    def __init__(self, smsc: smpp34.Smsc) -> None:
        self.smsc = smsc
        self.lost = False


class Link:
    """The current session (None between binds), `bound` set while one is usable, `stop`
    set once closing, and the health the provider reports."""

    def __init__(self) -> None:
        self.session: BoundSession | None = None
        self.bound = asyncio.Event()
        self.stop = asyncio.Event()
        self.health = ProviderHealth(False, "not started")

    def lose(self, session: BoundSession) -> None:
        session.lost = True
        if self.session is session:
            self.bound.clear()
