"""Personalized pages through `GET /{code}`: pages/s in one worker process against a floor
measured in the same run, the cold renders, bytes per page, and Lighthouse's scores.

    python -m bench.pages [--contacts 2000] [--seconds 2] [--runs 5] [--lighthouse /tmp/lh]

The page has a Code128 coupon, a QR coupon, a countdown and a scratch card revealing a
third coupon. The app is driven in-process through ASGI (no HTTP parsing: that is the
redirect bench's job), with clicks stored by the real group-commit writer on SQLite, 32
taps in flight. Figures:

- pages/s: the median of `--runs` runs over recipients whose coupons exist and whose
  blocks (and SVGs) are cached, the steady state of a campaign. The floor is a bare
  Starlette route answering the same gzip bytes through the same driver, alternated with
  the page runs; CPU µs per page counts every thread of the process (the click writer's
  too), which steal time from noisy neighbours does not inflate.
- cold, fresh process: a new Python process starts the app (its lifespan compiles the
  published pages) and serves one recipient's first view: the click, the coupons'
  assignment, three SVGs drawn, the render. Median of 3 processes, each a new recipient.
- cold, first view of a recipient in a warm process: the same minus the process start.
- bytes: the gzip body and headers one response puts on the wire.
- Lighthouse (with `--lighthouse DIR`, where `npm install lighthouse` ran): mobile form
  factor, Debian's chromium, against the page served by uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from richsms.clock import SystemClock
from richsms.db import make_engine, session_scope
from richsms.migrate import upgrade
from richsms.settings import Settings
from sender.audience.models import Contact

SECRET = "bench-secret-key-0123456789abcdef0123456789"
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
IN_FLIGHT = 32


def blocks(now: datetime) -> list[dict[str, Any]]:
    return [
        {"type": "heading", "text": "Bonjour {{ contact.first_name | default('ami') }}"},
        {"type": "text", "text": "Les soldes d'hiver commencent : -20 % avec votre code."},
        {"type": "countdown", "deadline": (now + timedelta(days=3)).isoformat(),
         "expired_text": "Offre terminée"},
        {"id": "cp", "type": "coupon", "source": "generate", "pattern": "NOEL-######",
         "symbology": "code128"},
        {"id": "qr", "type": "coupon", "source": "generate", "pattern": "QR-######",
         "symbology": "qr"},
        {"id": "sc", "type": "scratch", "prize": "coupon", "text": "Gagné !",
         "coupon": {"source": "generate", "pattern": "SCR-######"}},
        {"type": "footer", "text": "Boutique Exemple. STOP au 36180."},
    ]


def settings_for(url: str, base: str = "https://pages.ex.co/") -> dict[str, str]:
    return {"RICHSMS_DATABASE_URL": url, "RICHSMS_SECRET_KEY": SECRET,
            "RICHSMS_BASE_URL": base, "RICHSMS_SHORT_URL": base}


async def _get(app: Any, path: str, gzip_ok: bool = True) -> tuple[int, bytes, int]:
    """(status, body, header bytes) of one GET through the ASGI app."""
    headers = [(b"user-agent", PHONE_UA.encode())]
    if gzip_ok:
        headers.append((b"accept-encoding", b"gzip, deflate, br"))
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": headers, "client": ("10.0.0.1", 5555),
             "server": ("127.0.0.1", 80), "scheme": "https", "http_version": "1.1",
             "root_path": ""}
    out: dict[str, Any] = {"body": b"", "header_bytes": 0}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            # "name: value\r\n" per header, plus the status line.
            out["header_bytes"] = 17 + sum(len(k) + len(v) + 4 for k, v in message["headers"])
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return int(out["status"]), bytes(out["body"]), int(out["header_bytes"])


def prepare(contacts: int, planned: bool = False) -> tuple[str, list[str], list[str]]:
    """A SQLite database with `contacts` contacts, the published page, one page link and
    one plain link (a 302, the redirect floor) each."""
    from landing_templates.coupons import CouponSlot, assign_coupons_bulk
    from landing_templates.links import issue_page_links
    from landing_templates.pages import create_page, publish_page
    from shortener.codes import CodeMaker
    from shortener.links import LinkSpec, create_links

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    clock = SystemClock()
    now = clock.now()
    with session_scope(engine) as session:
        session.add_all(
            Contact(phone=f"+3361{n:07d}", first_name=f"Client{n}", language="fr",
                    created_at=now, updated_at=now) for n in range(contacts)
        )
    with session_scope(engine) as session:
        page = create_page(session=session, clock=clock, name="Soldes d'hiver", language="fr",
                           blocks=blocks(now))
        assert page.page.id is not None
        publish_page(session=session, clock=clock, page_id=page.page.id)
        codes = [i.code for i in issue_page_links(
            session=session, codes=CodeMaker(SECRET), clock=clock,
            base_url="https://pages.ex.co/", page_id=page.page.id,
            contact_ids=list(range(1, contacts + 1)))]
        plain = [i.code for i in create_links(
            session=session, codes=CodeMaker(SECRET), clock=clock,
            spec=LinkSpec(url="https://shop.ex.co/soldes"),
            contact_ids=list(range(1, contacts + 1)))]
        if planned:  # as campaign planning does: every coupon assigned before any view
            for block_id, pattern in (("cp", "NOEL-######"), ("qr", "QR-######"),
                                      ("sc", "SCR-######")):
                slot = CouponSlot(page.page.id, block_id, "generate", pattern, None)
                assign_coupons_bulk(session=session, clock=clock, slot=slot,
                                    contact_ids=range(1, contacts + 1))
    engine.dispose()
    return url, codes, plain


async def _cold_child(url: str, code: str) -> None:
    """In a fresh process: start the app, time the first view of `code`."""
    from web.app import create_app

    started = time.perf_counter()
    app = create_app(Settings.from_mapping(settings_for(url)), clock=SystemClock())
    async with app.router.lifespan_context(app):
        ready, cpu = time.perf_counter(), time.process_time()
        status, body, _ = await _get(app, f"/{code}")
        first, cpu = time.perf_counter() - ready, time.process_time() - cpu
        assert status == 200 and b"<svg" in gzip.decompress(body), status
    print(json.dumps({"start_ms": (ready - started) * 1000, "first_ms": first * 1000,
                      "cpu_ms": cpu * 1000}))


def cold_in_fresh_processes(url: str, codes: list[str]) -> list[dict[str, float]]:
    results = []
    for code in codes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.pages", "--cold-child", url, code],
            check=True, capture_output=True, text=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def floor_app(body: bytes) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def page(_request: Request) -> HTMLResponse:
        return HTMLResponse(body, headers={"content-encoding": "gzip",
                                           "cache-control": "private, no-store"})

    return Starlette(routes=[Route("/{code}", page)])


async def throughput(
    app: Any, paths: list[str], seconds: float, expect: int = 200
) -> tuple[float, float]:
    """(requests/s, CPU µs per request of the whole process) with IN_FLIGHT requests kept
    in flight (each tap starts when another ends, as connections do on a server)."""
    done = [0]
    cpu, started = time.process_time(), time.perf_counter()
    deadline = started + seconds

    async def tapper(offset: int) -> None:
        n = offset
        while time.perf_counter() < deadline:
            status, _, _ = await _get(app, paths[n % len(paths)])
            assert status == expect, status
            n += IN_FLIGHT
            done[0] += 1

    await asyncio.gather(*(tapper(i) for i in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - started
    return done[0] / elapsed, (time.process_time() - cpu) / done[0] * 1e6


async def run(
    contacts: int, seconds: float, runs: int, lighthouse: str | None, planned: bool = False
) -> None:
    from web.app import create_app

    url, codes, plain = prepare(contacts, planned)
    if planned:
        print("coupons assigned beforehand, as a campaign's planning does")
    fresh = cold_in_fresh_processes(url, codes[:3])
    app = create_app(Settings.from_mapping(settings_for(url)), clock=SystemClock())
    paths = [f"/{code}" for code in codes]
    redirects = [f"/{code}" for code in plain]
    async with app.router.lifespan_context(app):
        firsts, first_cpu = [], []
        for path in paths[3:]:  # first views: coupons assigned, SVGs drawn, blocks cached
            started, cpu = time.perf_counter(), time.process_time()
            status, _, _ = await _get(app, path)
            firsts.append((time.perf_counter() - started) * 1000)
            first_cpu.append((time.process_time() - cpu) * 1000)
            assert status == 200
        _, body, header_bytes = await _get(app, paths[5])
        _, uncompressed, _ = await _get(app, paths[5], gzip_ok=False)
        floor = floor_app(body)
        pages, floors, redirect_rates, page_cpu, floor_cpu, redirect_cpu = [], [], [], [], [], []
        for _ in range(runs):
            rate, cpu = await throughput(app, paths, seconds)
            pages.append(rate)
            page_cpu.append(cpu)
            rate, cpu = await throughput(floor, paths, seconds)
            floors.append(rate)
            floor_cpu.append(cpu)
            rate, cpu = await throughput(app, redirects, seconds, expect=302)
            redirect_rates.append(rate)
            redirect_cpu.append(cpu)
    page_rate, floor_rate = statistics.median(pages), statistics.median(floors)
    redirect_rate = statistics.median(redirect_rates)
    print(f"pages/s in one process, {IN_FLIGHT} in flight (median of {runs} runs of {seconds:g}s):"
          f" {page_rate:,.0f} (runs: {', '.join(f'{r:,.0f}' for r in pages)})")
    print(f"  floor, a bare Starlette HTMLResponse of the same bytes, same driver: "
          f"{floor_rate:,.0f}/s; ratio {page_rate / floor_rate:.2f}")
    print(f"  floor with the click: the same app's 302 for a plain link (click stored alike): "
          f"{redirect_rate:,.0f}/s; ratio {page_rate / redirect_rate:.2f}")
    cpu = statistics.median(page_cpu)
    print(f"  CPU per request: page {cpu:,.0f} µs (so {1e6 / cpu:,.0f} pages/s for a process "
          f"with a whole core), "
          f"bare HTMLResponse {statistics.median(floor_cpu):,.0f} µs, "
          f"302 with click {statistics.median(redirect_cpu):,.0f} µs")
    work = "reads 3 planned coupons" if planned else "assigns 3 coupons"
    print("cold, first view after publish in a fresh process (app started, its lifespan "
          f"compiled the page; the view {work}, draws 3 SVGs): "
          f"{statistics.median(f['first_ms'] for f in fresh):.1f} ms median of {len(fresh)}, "
          f"CPU {statistics.median(f['cpu_ms'] for f in fresh):.1f} ms "
          f"(process start to ready {statistics.median(f['start_ms'] for f in fresh):,.0f} ms)")
    firsts.sort()
    print(f"cold, first view of a recipient in a warm process: median "
          f"{firsts[len(firsts) // 2]:.1f} ms, p90 {firsts[int(len(firsts) * 0.9)]:.1f} ms "
          f"({len(firsts)} recipients), CPU median {statistics.median(first_cpu):.1f} ms")
    print(f"bytes per page: {len(body):,} gzip body + {header_bytes:,} header bytes "
          f"({len(uncompressed):,} uncompressed; one-shot gzip -9 would be "
          f"{len(gzip.compress(uncompressed, 9)):,})")
    if lighthouse:
        scores = run_lighthouse(lighthouse, url, codes[5])
        for name in ("performance", "accessibility"):
            print(f"Lighthouse mobile {name}: {statistics.median(scores[name]):.0f} "
                  f"(median of {len(scores[name])} runs: "
                  f"{', '.join(f'{v:.0f}' for v in scores[name])})")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_lighthouse(folder: str, url: str, code: str, runs: int = 3) -> dict[str, list[float]]:
    """Serve the app with uvicorn on loopback and run Lighthouse (mobile) on one page."""
    cli = Path(folder) / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        cli = Path(folder)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    env = {**os.environ, **settings_for(url, base)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.serve:app_from_environment",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        scores: dict[str, list[float]] = {}
        for _ in range(runs):
            report = Path(tempfile.mkdtemp(prefix="lighthouse-")) / "report.json"
            subprocess.run(
                ["node", str(cli), f"{base}{code}", "--quiet", "--output=json",
                 f"--output-path={report}", "--form-factor=mobile",
                 "--only-categories=performance,accessibility",
                 f"--emulated-user-agent={PHONE_UA}",
                 "--chrome-flags=--headless --no-sandbox --disable-gpu --disable-quic "
                 "--no-first-run --disable-background-networking --disable-component-update "
                 "--disable-sync"],
                check=True, env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
            )
            data = json.loads(report.read_text())
            for name, category in data["categories"].items():
                scores.setdefault(name, []).append((category["score"] or 0) * 100)
        print(f"Lighthouse reports: {report.parent.parent}/lighthouse-*/report.json")
        return scores
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lighthouse", metavar="DIR", help="where `npm install lighthouse` ran")
    parser.add_argument(
        "--planned", action="store_true",
        help="assign every coupon first, as planning a campaign does (first views only read)",
    )
    parser.add_argument("--cold-child", nargs=2, metavar=("URL", "CODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        asyncio.run(_cold_child(*args.cold_child))
    else:
        asyncio.run(run(args.contacts, args.seconds, args.runs, args.lighthouse, args.planned))


if __name__ == "__main__":
    main()
