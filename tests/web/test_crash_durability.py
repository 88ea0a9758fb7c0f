"""A real server process killed under load: every redirect a client received has its click."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from richsms.db import session_scope
from richsms.settings import Settings
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_links
from shortener.models import Click
from tests.clock import FrozenClock

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
    }
    with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(
            [RICHSMS, "serve", "--port", str(port), "--no-worker"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    raise RuntimeError("the server never became healthy")


async def hammer(port: int, codes: list[str], stop_after: int, kill: object) -> int:
    """Taps links from 16 concurrent clients; after `stop_after` redirects, calls `kill`."""
    received = 0
    killed = False

    async def client(n: int) -> None:
        nonlocal received, killed
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            i = n
            while True:
                try:
                    response = await http.get(f"/{codes[i % len(codes)]}")
                except httpx.HTTPError:
                    return  # the server is gone
                # Anything but a redirect is a broken seed, not a crash: fail, never spin.
                assert response.status_code == 302, response.text[:200]
                received += 1
                i += 16
                if received >= stop_after and not killed:
                    killed = True
                    kill()  # type: ignore[operator]

    await asyncio.gather(*(client(n) for n in range(16)))
    return received


def stored_clicks(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Click)).scalar_one())


def seed(engine: Engine, clock: FrozenClock, settings: Settings) -> list[str]:
    with session_scope(engine) as session:
        issued = create_links(
            session=session,
            codes=CodeMaker(settings.secret_key.reveal()),
            clock=clock,
            spec=LinkSpec(url="https://shop.example/"),
            contact_ids=list(range(1, 201)),
        )
    return [link.code for link in issued]


def test_sigkill_under_load_loses_no_acknowledged_click(
    settings: Settings, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    codes = seed(engine, clock, settings)
    port = free_port()
    server = start_server(settings, port, tmp_path / "server.log")
    try:
        received = asyncio.run(
            hammer(port, codes, 400, lambda: os.killpg(server.pid, signal.SIGKILL))
        )
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert received >= 400
    assert stored_clicks(engine) >= received


def test_sigterm_stops_gracefully_with_every_click_stored(
    settings: Settings, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    codes = seed(engine, clock, settings)
    port = free_port()
    server = start_server(settings, port, tmp_path / "server.log")
    received = asyncio.run(hammer(port, codes, 300, lambda: server.send_signal(signal.SIGTERM)))
    assert server.wait(timeout=30) == 0
    assert received >= 300
    assert stored_clicks(engine) >= received
