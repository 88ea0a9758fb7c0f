"""Peers for the provider tests: a simulated SMSC process (smpp34's server, smsc.py) and
a recording events sink."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sender.delivery.providers.base import Inbound, Receipt

SMSC_SCRIPT = Path(__file__).with_name("smsc.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Smsc:
    """One simulated SMSC on loopback (or `host`, run through `launcher`, say `ip netns
    exec NAME`), restartable on the same port."""

    def __init__(
        self, log: Path, *options: str, host: str = "127.0.0.1", launcher: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.host = host
        self.log = log
        self.options = list(options)
        self.launcher = list(launcher)
        self.process: subprocess.Popen[str] | None = None

    def start(self, *options: str) -> Smsc:
        self.process = subprocess.Popen(
            [*self.launcher, sys.executable, str(SMSC_SCRIPT), str(self.port), str(self.log),
             "--host", self.host, *self.options, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()
            self.process = None

    def push(self, line: str) -> None:
        """Have the SMSC send a mobile-originated message (see smsc.py)."""
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "pushed"

    def accepted(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def held(self) -> list[dict[str, object]]:
        """The submits it read and never answered (`--hold-after`)."""
        path = Path(f"{self.log}.held")
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def acknowledged_receipts(self) -> list[str]:
        """Ids of the receipts the client answered deliver_sm_resp to."""
        path = Path(f"{self.log}.receipts")
        return path.read_text().split() if path.exists() else []

    def wait_accepted(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted()) < count:
            assert time.monotonic() < deadline, "the SMSC did not accept enough messages"
            time.sleep(0.01)


class RecordingEvents:
    """A ProviderEvents sink that keeps what it is handed, in order."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.messages: list[Inbound] = []

    async def receipt(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        self.receipts.extend(receipts)

    async def inbound(self, message: Inbound) -> None:
        self.messages.append(message)
