"""Redirect throughput and latency, against nginx on the same machine in the same run.

    python -m bench.redirect [--backends sqlite,postgresql] [--links 100000] [--runs 3]

Server pinned to core 0, wrk pinned to core 1, 64 connections, a Lua script rotating over
every issued code. nginx (one worker, a fixed `return 302`) is the yardstick; only ratios
measured in the same run mean anything on a shared machine. Then the crash test: SIGKILL
the server under load and compare the clicks stored with the redirects wrk received.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlmodel import Session

from bench.databases import POSTGRES_URL, reset_postgres
from richsms.clock import SystemClock
from richsms.db import make_engine, session_scope
from richsms.migrate import upgrade
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_links
from shortener.models import Click

SECRET = "bench-secret-key-0123456789abcdef0123456789"
SERVER_CORE, CLIENT_CORE = "0", "1"

ROTATE_LUA = """
local codes = {}
for line in io.lines("%(codes)s") do codes[#codes + 1] = "/" .. line end
local i = math.random(#codes)
request = function()
  i = i %% #codes + 1
  return wrk.format("GET", codes[i], {["User-Agent"] = "Mozilla/5.0 (iPhone) Mobile Safari"})
end
"""
COUNT_LUA = (
    ROTATE_LUA
    + """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) redirects = 0 end
function response(status, headers, body)
  if status == 302 then redirects = redirects + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("redirects") end
  io.write(string.format("REDIRECTS %%d\\n", total))
end
"""
)


@dataclass
class Run:
    rps: float
    p99_ms: float


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install wrk nginx-light util-linux")
    work = Path(tempfile.mkdtemp(prefix="richsms-bench-"))
    results: dict[str, list[Run]] = {}
    crash: dict[str, tuple[int, int]] = {}
    nginx = start_nginx(work)
    try:
        for backend in args.backends.split(","):
            url = f"sqlite:///{work / 'bench.db'}" if backend == "sqlite" else POSTGRES_URL
            codes_file = seed(url, args.links, work, backend)
            lua = work / "rotate.lua"
            lua.write_text(ROTATE_LUA % {"codes": codes_file})
            for _ in range(args.runs):
                results.setdefault("nginx", []).append(
                    wrk(f"http://127.0.0.1:{nginx[1]}/", lua, args)
                )
                server = start_richsms(url, 8811)
                try:
                    results.setdefault(f"richsms/{backend}", []).append(
                        wrk("http://127.0.0.1:8811/", lua, args)
                    )
                finally:
                    stop(server)
            crash[backend] = crash_test(url, codes_file, work, args)
    finally:
        stop(nginx[0])
    report(results, crash)


def seed(url: str, count: int, work: Path, backend: str) -> Path:
    if backend == "postgresql":
        reset_postgres(url)
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    with session_scope(engine) as session:  # create_links flushes; the caller commits
        issued = create_links(
            session=session,
            codes=CodeMaker(SECRET),
            clock=SystemClock(),
            spec=LinkSpec(url="https://shop.example/sale"),
            contact_ids=list(range(1, count + 1)),
        )
    print(f"[{backend}] issued {count} links in {time.perf_counter() - started:.1f} s", flush=True)
    engine.dispose()
    path = work / f"codes-{backend}.txt"
    path.write_text("\n".join(i.code for i in issued) + "\n")
    return path


def start_nginx(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = 8810
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 302 https://shop.example/sale; }}
  }}
}}
""")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, "nginx", "-c", str(conf)])
    wait_ready(f"http://127.0.0.1:{port}/x")
    return proc, port


def start_richsms(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RICHSMS_DATABASE_URL": url, "RICHSMS_SECRET_KEY": SECRET}
    richsms = str(Path(sys.executable).with_name("richsms"))
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, richsms, "serve", "--port", str(port), "--no-worker"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz")
    return proc


def wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk_command(
    url: str, lua: Path, args: argparse.Namespace, seconds: int, *options: str
) -> list[str]:
    """wrk on the client's core: one thread, `args.connections` connections, `seconds`."""
    return [
        "taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s",
        *options, "-s", str(lua), url,
    ]  # fmt: skip


def wrk(url: str, lua: Path, args: argparse.Namespace, duration: int | None = None) -> Run:
    subprocess.run(wrk_command(url, lua, args, 3, "--latency"), capture_output=True, check=True)
    out = subprocess.run(
        wrk_command(url, lua, args, duration or args.duration, "--latency"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Run(
        float(_find(r"Requests/sec:\s+([\d.]+)", out)), _ms(_find(r"99%\s+([\d.]+\w+)", out))
    )


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"no {pattern!r} in wrk output:\n{text}")
    return found.group(1)


def _ms(value: str) -> float:
    number, unit = _find(r"([\d.]+[a-z]+)", value), ""
    number, unit = re.sub(r"[a-z]+$", "", number), re.sub(r"^[\d.]+", "", number)
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def crash_test(url: str, codes_file: Path, work: Path, args: argparse.Namespace) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM click"))
    lua = work / "count.lua"
    lua.write_text(COUNT_LUA % {"codes": codes_file})
    server = start_richsms(url, 8812)
    client = subprocess.Popen(
        wrk_command("http://127.0.0.1:8812/", lua, args, 6), stdout=subprocess.PIPE, text=True
    )
    time.sleep(3)
    stop(server, signal.SIGKILL)
    out, _ = client.communicate()
    redirects = int(_find(r"REDIRECTS (\d+)", out))
    with Session(engine) as session:
        stored = int(session.execute(select(func.count()).select_from(Click)).scalar_one())
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    return redirects, stored


def report(results: dict[str, list[Run]], crash: dict[str, tuple[int, int]]) -> None:
    nginx = statistics.median(r.rps for r in results["nginx"])
    print(f"\n{'server':<22}{'req/s (median)':>16}{'% of nginx':>12}{'p99 ms':>10}   runs")
    for name, runs in results.items():
        rps = statistics.median(r.rps for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        print(
            f"{name:<22}{rps:>16,.0f}{100 * rps / nginx:>11.1f}%{p99:>10.2f}   "
            + ", ".join(f"{r.rps:,.0f}" for r in runs)
        )
    print("\nSIGKILL under load: redirects received by wrk vs clicks stored")
    for backend, (redirects, stored) in crash.items():
        verdict = "ok, none lost" if stored >= redirects else f"LOST {redirects - stored}"
        print(f"  {backend:<12} redirects {redirects:>8}   stored {stored:>8}   {verdict}")


if __name__ == "__main__":
    main()
