"""Outside events accepted per second by one web process: `POST /api/automations/{id}/trigger`.

    python -m bench.triggers [--contacts 1000] [--seconds 2] [--runs 3] [--skip-postgres]
                             [--http]

The app is driven in-process through ASGI (no HTTP parsing: the redirect bench measures
uvicorn), 32 requests in flight (`--in-flight`), each a trigger for one of `--contacts` consenting
contacts with a fresh Idempotency-Key (the costlier path: the key is looked up, then
stored) and `{"temperature": 28}` as its data, authenticated by an API token. Accepting
is what is measured: the row stored and committed, the 202 answered; the chore loop
turns the triggers into messages afterwards (timed once at the end: messages/s).

Floors, measured in the same run and alternated with the trigger runs:
- `/healthz` through the same driver: what the app answers when it does nothing;
- a bare insert: one trigger row inserted and committed per transaction by one thread,
  without HTTP, the app or any check: what the database gives one writer.
Figures are medians of `--runs` runs; the goal is 1,000 accepted triggers/s.

`--http`: the same over real HTTP, as a shop's server would send them: `richsms serve
--no-worker` (one process, granian) pinned to core 0, wrk on core 1 with 32 connections,
each request a fresh Idempotency-Key; its floor `/healthz` through the same server and wrk,
alternated; the p99 latency of each (bench/redirect.py's server and wrk driver).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.accounts import create_token
from richsms.clock import SystemClock
from richsms.db import make_engine, read_session, session_scope
from richsms.migrate import upgrade
from richsms.settings import Settings
from sender.audience.models import Contact
from sender.campaigns.automations import create_automation
from sender.campaigns.models import AutomationTrigger
from sender.campaigns.trigger_sending import process_triggers
from shortener.codes import CodeMaker

SECRET = "bench-secret-key-0123456789abcdef0123456789"
IN_FLIGHT = 32


def settings_for(url: str) -> Settings:
    return Settings.from_mapping(
        {
            "RICHSMS_DATABASE_URL": url,
            "RICHSMS_SECRET_KEY": SECRET,
            "RICHSMS_BASE_URL": "https://pages.ex.co/",
            "RICHSMS_SHORT_URL": "https://ex.co/",
        }
    )


def prepare(url: str, contacts: int) -> tuple[str, int, int]:
    """The schema, `contacts` consenting contacts, an event automation and a token."""
    engine = make_engine(url)
    upgrade(engine)
    clock = SystemClock()
    now = clock.now()
    with session_scope(engine) as session:
        session.add_all(
            Contact(phone=f"+3361{n:07d}", first_name=f"Client{n}", language="fr",
                    consent_type="express", created_at=now, updated_at=now)
            for n in range(contacts)
        )
    with session_scope(engine) as session:
        automation = create_automation(
            session=session, clock=clock, settings=settings_for(url), name="Canicule",
            kind="event", type="promotional",
            template="Il fait {{ event.temperature }} degrés, {{ contact.first_name }} : "
            "-{{ event.temperature }} % sur les ventilateurs !",
        )
        token = create_token(session=session, name="bench", clock=clock)
        automation_id = automation.id
        first = session.scalars(select(col(Contact.id)).order_by(col(Contact.id))).first()
    engine.dispose()
    assert automation_id is not None and first is not None
    return token, automation_id, int(first)


async def _call(
    app: Any, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> int:
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": headers, "client": ("10.0.0.1", 5555),
             "server": ("127.0.0.1", 80), "scheme": "https", "http_version": "1.1",
             "root_path": ""}
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # no disconnect while the answer is written
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _drive(seconds: float, one: Any) -> tuple[float, int, float]:
    """Requests/s with IN_FLIGHT in flight for `seconds`, how many were not 2xx, and the
    process's CPU µs per request (every thread: the threadpool's too)."""
    done = 0
    bad = 0
    stop = time.perf_counter() + seconds

    async def lane(lane_no: int) -> None:
        nonlocal done, bad
        n = 0
        while time.perf_counter() < stop:
            status = await one(lane_no, n)
            n += 1
            done += 1
            bad += not 200 <= status < 300

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane(i) for i in range(IN_FLIGHT)))
    cpu = time.process_time() - cpu
    return done / (time.perf_counter() - start), bad, cpu / max(done, 1) * 1e6


def bare_inserts(url: str, automation_id: int, first: int, seconds: float, run: int) -> float:
    """Trigger rows inserted and committed one per transaction, no HTTP: rows/s."""
    engine = make_engine(url)
    clock = SystemClock()
    n = 0
    stop = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < stop:
        with session_scope(engine) as session:
            session.add(AutomationTrigger(
                automation_id=automation_id, contact_id=first, data={"temperature": 28},
                idempotency_key=f"bare-{run}-{n}", state="done", received_at=clock.now(),
            ))
        n += 1
    rate = n / (time.perf_counter() - start)
    engine.dispose()
    return rate


async def measure(url: str, contacts: int, seconds: float, runs: int) -> None:
    from web.app import create_app

    token, automation_id, first = prepare(url, contacts)
    settings = settings_for(url)
    app = create_app(settings, preload_links=0)
    path = f"/api/automations/{automation_id}/trigger"
    auth = (b"authorization", f"Bearer {token}".encode())
    json_type = (b"content-type", b"application/json")
    bodies = [
        json.dumps({"contact_id": first + n, "data": {"temperature": 28}}).encode()
        for n in range(contacts)
    ]
    run_no = 0

    async def trigger(lane: int, n: int) -> int:
        key = f"run{run_no}-lane{lane}-{n}".encode()
        body = bodies[(lane * 7919 + n) % contacts]
        return await _call(app, "POST", path, body, [auth, json_type, (b"idempotency-key", key)])

    async def health(_lane: int, _n: int) -> int:
        return await _call(app, "GET", "/healthz", b"", [])

    accepted: list[float] = []
    floors: list[float] = []
    inserts: list[float] = []
    cpu_trigger: list[float] = []
    cpu_health: list[float] = []
    async with app.router.lifespan_context(app):
        await _drive(0.5, trigger)  # warm up: caches, connections, the threadpool
        for run_no in range(1, runs + 1):
            floor, _, health_us = await _drive(seconds, health)
            rate, refused, trigger_us = await _drive(seconds, trigger)
            assert refused == 0, f"{refused} triggers were not accepted"
            floors.append(floor)
            accepted.append(rate)
            cpu_health.append(health_us)
            cpu_trigger.append(trigger_us)
            inserts.append(await asyncio.to_thread(
                bare_inserts, url, automation_id, first, seconds, run_no
            ))
            print(f"  run {run_no}: {rate:,.0f} triggers/s accepted ({trigger_us:,.0f} µs CPU "
                  f"each), /healthz {floor:,.0f}/s ({health_us:,.0f} µs CPU each), "
                  f"bare insert+commit {inserts[-1]:,.0f}/s")
    median = statistics.median(accepted)
    print(f"  accepted triggers/s (median of {runs}): {median:,.0f}  "
          f"(goal 1,000: {'met' if median >= 1_000 else 'NOT met'})")
    print(f"  floors (medians): /healthz {statistics.median(floors):,.0f}/s, "
          f"bare insert+commit {statistics.median(inserts):,.0f}/s; "
          f"accepted/healthz {median / statistics.median(floors):.2f}, "
          f"accepted/bare insert {median / statistics.median(inserts):.2f}")
    per_core = 1e6 / statistics.median(cpu_trigger)
    print(f"  CPU per accepted trigger (median): {statistics.median(cpu_trigger):,.0f} µs, "
          f"so {per_core:,.0f} triggers/s per core of this machine; /healthz "
          f"{statistics.median(cpu_health):,.0f} µs")
    engine = make_engine(url)
    started = time.perf_counter()
    sent = process_triggers(
        engine=engine, clock=SystemClock(), settings=settings, codes=CodeMaker(SECRET)
    )
    took = time.perf_counter() - started
    print(f"  then the chore loop's step: {sent:,} messages enqueued in {took:.1f} s "
          f"({sent / took:,.0f}/s)")
    engine.dispose()


HTTP_PORT = 8821
TRIGGER_LUA = """
math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000))
local prefix = tostring(math.random(1, 1000000000))
local n = 0
request = function()
  n = n + 1
  local contact = FIRST + (n * 7919) % CONTACTS
  local body = '{"contact_id": ' .. contact .. ', "data": {"temperature": 28}}'
  return wrk.format("POST", "PATH", {["Authorization"] = "Bearer TOKEN",
    ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. "-" .. n}, body)
end
"""
HEALTH_LUA = 'request = function() return wrk.format("GET", "/healthz") end\n'


def measure_http(url: str, contacts: int, seconds: float, runs: int) -> None:
    """Accepted triggers/s over HTTP through one `richsms serve` process, and /healthz."""
    from bench.redirect import CLIENT_CORE, SERVER_CORE, start_richsms, stop, wrk_command
    from bench.redirect import _find as found_in
    from bench.redirect import _ms as ms

    token, automation_id, first = prepare(url, contacts)
    work = Path(tempfile.mkdtemp(prefix="bench-triggers-http-"))
    trigger_lua, health_lua = work / "trigger.lua", work / "health.lua"
    trigger_lua.write_text(
        TRIGGER_LUA.replace("FIRST", str(first)).replace("CONTACTS", str(contacts))
        .replace("PATH", f"/api/automations/{automation_id}/trigger").replace("TOKEN", token)
    )  # fmt: skip
    health_lua.write_text(HEALTH_LUA)
    options = argparse.Namespace(connections=IN_FLIGHT)
    base = f"http://127.0.0.1:{HTTP_PORT}/"

    def drive(lua: Path) -> tuple[float, float, int]:
        out = subprocess.run(
            wrk_command(base, lua, options, max(1, round(seconds)), "--latency"),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        p99 = found_in(r"99%\s+([\d.]+\w+)", out)
        return (
            float(found_in(r"Requests/sec:\s+([\d.]+)", out)),
            ms(p99),
            int(refused.group(1)) if refused else 0,
        )

    print(f"  server on core {SERVER_CORE}, wrk on core {CLIENT_CORE}, {IN_FLIGHT} connections")
    server = start_richsms(url, HTTP_PORT)
    try:
        drive(trigger_lua)  # warm up
        accepted, floors = [], []
        for run_no in range(1, runs + 1):
            floor, floor_p99, _ = drive(health_lua)
            rate, p99, refused = drive(trigger_lua)
            assert refused == 0, f"{refused} triggers were not accepted"
            accepted.append(rate)
            floors.append(floor)
            print(f"  run {run_no}: {rate:,.0f} triggers/s accepted (p99 {p99:.1f} ms), "
                  f"/healthz {floor:,.0f}/s (p99 {floor_p99:.1f} ms)")
    finally:
        stop(server)
    median = statistics.median(accepted)
    print(f"  accepted triggers/s over HTTP (median of {runs}): {median:,.0f}  "
          f"(goal 1,000: {'met' if median >= 1_000 else 'NOT met'}); "
          f"/healthz {statistics.median(floors):,.0f}/s, "
          f"ratio {median / statistics.median(floors):.2f}")
    engine = make_engine(url)
    with read_session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(AutomationTrigger))
    engine.dispose()
    print(f"  triggers stored: {stored:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--http", action="store_true", help="through richsms serve and wrk")
    args = parser.parse_args()
    global IN_FLIGHT
    IN_FLIGHT = args.in_flight
    folder = Path(tempfile.mkdtemp(prefix="bench-triggers-"))
    backends = [("SQLite", f"sqlite:///{folder / 'bench.db'}")]
    if not args.skip_postgres:
        reset_postgres(POSTGRES_URL)
        backends.append(("PostgreSQL", POSTGRES_URL))
    for name, url in backends:
        print(f"{name}: {IN_FLIGHT} in flight, {args.seconds:g} s per run")
        if args.http:
            measure_http(url, args.contacts, args.seconds, args.runs)
        else:
            asyncio.run(measure(url, args.contacts, args.seconds, args.runs))


if __name__ == "__main__":
    main()
