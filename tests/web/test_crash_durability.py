"""A real server process killed under load: every redirect a client received has its click.

The guarantee: the redirect is answered only once its click is committed (the click
writer's group commit, shortener/clicks.py), on PostgreSQL with `synchronous_commit=off`
(committed and visible, on disk within the WAL writer's delay: it survives a crash of
richsms, not of PostgreSQL's host in that instant), on SQLite in WAL mode with
`synchronous=NORMAL` (it survives a crash of the process). Each web process of
`richsms serve --workers N` has its own click writer: killing one loses only what it had
not answered, and a click may then be stored though its redirect never arrived, so the
clicks stored are at least the redirects received, never fewer.
"""

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


def start_server(
    settings: Settings, port: int, log: Path, *options: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RICHSMS_DATABASE_URL": settings.database_url,
        "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
    }
    with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(
            [RICHSMS, "serve", "--port", str(port), "--no-worker", *options],
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


def web_processes(server: int) -> set[int]:
    """The pids of granian's web processes: its main process `server`'s children."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
        if int(parent) == server and state != "Z":  # a killed one not reaped yet is no more
            found.add(int(stat.parent.name))
    return found


def wait_for_processes(server: subprocess.Popen[bytes], count: int, log: Path) -> set[int]:
    deadline = time.monotonic() + 60
    while len(found := web_processes(server.pid)) < count:
        assert time.monotonic() < deadline, f"not {count} web processes: {found}"
        assert server.poll() is None, log.read_text()
        time.sleep(0.05)
    return found


def connections(pid: int, port: int) -> int:
    """Established TCP connections on our `port` that process `pid` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    held = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        held += local_port == port and state == "01" and inode in inodes
    return held


async def tap_through_a_kill(
    port: int, codes: list[str], kill_after: int, stop_after: int, kill: object
) -> tuple[int, int, dict[int, int]]:
    """16 phones tap links; after `kill_after` redirects `kill()` returns the process it
    killed and its connections per process just before; a phone whose connection broke
    taps again on a new one, until `stop_after` redirects in all. Returns the redirects
    received, the requests that failed, and the connections each web process held."""
    received = failed = 0
    held: dict[int, int] = {}

    async def phone(n: int) -> None:
        nonlocal received, failed, held
        i = n
        while received < stop_after:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                while received < stop_after:
                    try:
                        response = await http.get(f"/{codes[i % len(codes)]}")
                    except httpx.HTTPError:
                        failed += 1
                        assert failed < 500, "the server stopped answering"
                        break  # a new connection: to the process left, or its successor
                    assert response.status_code == 302, response.text[:200]
                    received += 1
                    i += 16
                    if received == kill_after:
                        held = kill()  # type: ignore[operator]

    await asyncio.gather(*(phone(n) for n in range(16)))
    return received, failed, held


def test_one_of_two_web_processes_killed_loses_no_acknowledged_click(
    settings: Settings, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    """`richsms serve --workers 2`: the phones' connections are spread over both web
    processes; one is killed with SIGKILL mid-load. The other keeps answering, granian
    starts a new process in its place (respawn_failed_workers, cli/main.py), and every
    redirect a phone received, from any of the three, has its click stored."""
    codes = seed(engine, clock, settings)
    port = free_port()
    server = start_server(settings, port, tmp_path / "server.log", "--workers", "2")
    try:
        first = wait_for_processes(server, 2, tmp_path / "server.log")

        def kill_one() -> dict[int, int]:
            held = {pid: connections(pid, port) for pid in first}
            os.kill(min(first), signal.SIGKILL)
            return held

        received, failed, held = asyncio.run(
            tap_through_a_kill(port, codes, kill_after=300, stop_after=900, kill=kill_one)
        )
        # Both processes were answering phones when one was killed.
        assert all(n > 0 for n in held.values()), held
        # Granian put a new process in the killed one's place.
        now = wait_for_processes(server, 2, tmp_path / "server.log")
        assert len(now - first) == 1 and min(first) not in now
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert received >= 900
    assert stored_clicks(engine) >= received
