"""The redirect's latency while the worst request of each kind runs, next to it alone.

    python -m bench.attacks [--backends sqlite,postgresql] [--seconds 15] [--contacts 20000]

One `richsms serve --no-worker` pinned to core 0. A probe process pinned to core 1 taps
one short link over and over (one keep-alive connection, one request at a time) and
records every redirect's latency; meanwhile attacker threads (pinned to core 1 too) send
one kind of heavy request back to back, two at a time:

- page: a page of 60 text blocks whose nested loops each run to their 50 ms budget
  (published without the publish check, as a page published before it would be);
- json: an 8 MB JSON body of 700,000 keys to POST /api/sms/analyze;
- image: a 6324x6324 PNG to POST /api/images;
- import: a 10 MB CSV of bad rows to POST /api/contacts/import;
- analyze: POST /api/sms/analyze over a group of `--contacts` with a nested-loop template;
- pool: a pool of 900,000 coupon codes to POST /api/coupon-pools.

Printed per backend and kind: the redirect's p99 and worst latency, its count, and what
the attacks answered; the first line is the redirect alone.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from PIL import Image

from bench.databases import POSTGRES_URL, reset_postgres
from bench.redirect import SECRET, start_richsms, stop
from richsms.accounts import create_token
from richsms.clock import SystemClock
from richsms.db import make_engine, session_scope
from richsms.migrate import upgrade
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_links

SERVER_CORE, CLIENT_CORE = 0, 1
PORT = 8813
NESTED = "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{{ b }}{% endfor %}{% endfor %}"
ATTACKERS = 2
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"


@dataclass
class Seeded:
    token: str
    link: str
    page_link: str
    group_id: int


@dataclass
class Row:
    kind: str
    p99_ms: float
    worst_ms: float
    redirects: int
    attacks: str


def main() -> None:
    parser = argparse.ArgumentParser()
    options: tuple[tuple[str, type, object], ...] = (
        ("--backends", str, "sqlite,postgresql"),
        ("--seconds", float, 15.0),
        ("--contacts", int, 20_000),
        ("--kinds", str, "page,json,image,import,analyze,pool"),
    )
    for name, kind, default in options:
        parser.add_argument(name, type=kind, default=default)
    args = parser.parse_args()
    bodies = make_bodies()
    work = Path(tempfile.mkdtemp(prefix="richsms-attacks-"))
    results: dict[str, list[Row]] = {}
    for backend in args.backends.split(","):
        url = f"sqlite:///{work / 'attacks.db'}" if backend == "sqlite" else POSTGRES_URL
        seeded = seed(url, backend, args.contacts)
        server = start_richsms(url, PORT)
        try:
            base = f"http://127.0.0.1:{PORT}"
            rows = [measure("(redirect alone)", base, seeded, None, args.seconds)]
            print(f"[{backend}] {rows[0]}", flush=True)
            for kind in args.kinds.split(","):
                attack = attack_of(kind, base, seeded, bodies)
                rows.append(measure(kind, base, seeded, attack, args.seconds))
                print(f"[{backend}] {rows[-1]}", flush=True)
            results[backend] = rows
        finally:
            stop(server)
    report(results)


def make_bodies() -> dict[str, bytes]:
    many = "{" + ",".join(f'"{n:x}":0' for n in range(700_000)) + "}"
    image = io.BytesIO()
    Image.new("RGB", (6324, 6324), (200, 30, 60)).save(image, "PNG")
    row = "1," + "x" * 150 + "\n"
    bad = "phone,note\n" + row * ((10_000_000 - 11) // len(row))
    codes = "".join(f"B{n:07d}\n" for n in range(900_000))
    return {
        "json": many.encode(),
        "image": image.getvalue(),
        "import": bad.encode(),
        "pool": codes.encode(),
    }


def seed(url: str, backend: str, contacts: int) -> Seeded:
    from landing_templates.links import issue_page_links
    from landing_templates.pages import create_page, publish_page
    from sender.audience.groups import ContactRefs, add_members, create_group
    from sender.audience.models import Contact

    if backend == "postgresql":
        reset_postgres(url)
    engine = make_engine(url)
    upgrade(engine)
    clock = SystemClock()
    codes = CodeMaker(SECRET)
    now = clock.now()
    with session_scope(engine) as session:
        token = create_token(session=session, name="attacker", clock=clock)
        (link,) = create_links(
            session=session, codes=codes, clock=clock,
            spec=LinkSpec(url="https://shop.example/sale"), contact_ids=[None],
        )  # fmt: skip
        people = [
            Contact(phone=f"+3361{n:07d}", first_name=f"P{n}", created_at=now, updated_at=now)
            for n in range(contacts)
        ]
        session.add_all(people)
        session.flush()
        group = create_group(session=session, name="everyone", clock=clock)
        assert group.id is not None
        everyone = ContactRefs(region="FR", contact_ids=[p.id for p in people if p.id is not None])
        add_members(session=session, group_id=group.id, clock=clock, contacts=everyone)
        blocks = [{"type": "text", "text": f"{n} {{{{ contact.first_name }}}} {NESTED}"}
                  for n in range(60)]  # fmt: skip
        page = create_page(session=session, clock=clock, name="worst", language="en",
                           blocks=blocks)  # fmt: skip
        assert page.page.id is not None
        publish_page(session=session, clock=clock, page_id=page.page.id)
        (issued,) = issue_page_links(
            session=session, codes=codes, clock=clock, base_url="http://127.0.0.1/",
            page_id=page.page.id, contact_ids=[people[0].id],
        )  # fmt: skip
    engine.dispose()
    return Seeded(token, link.code, issued.code, group.id)


def attack_of(
    kind: str, base: str, seeded: Seeded, bodies: dict[str, bytes]
) -> Callable[[httpx.Client], httpx.Response]:
    auth = {"Authorization": f"Bearer {seeded.token}"}
    csv = {**auth, "content-type": "text/csv"}
    as_json = {**auth, "content-type": "application/json"}
    analyze = json.dumps({"text": NESTED, "audience": {"groups": [seeded.group_id]}})
    attacks: dict[str, Callable[[httpx.Client], httpx.Response]] = {
        "page": lambda c: c.get(f"{base}/{seeded.page_link}", headers={"user-agent": PHONE_UA}),
        "json": lambda c: c.post(f"{base}/api/sms/analyze", content=bodies["json"],
                                 headers=as_json),
        "image": lambda c: c.post(f"{base}/api/images", content=bodies["image"],
                                  headers={**auth, "content-type": "image/png"}),
        "import": lambda c: c.post(f"{base}/api/contacts/import", content=bodies["import"],
                                   headers=csv),
        "analyze": lambda c: c.post(f"{base}/api/sms/analyze", content=analyze,
                                    headers=as_json),
        "pool": lambda c: c.post(f"{base}/api/coupon-pools",
                                 params={"name": f"pool {time.monotonic_ns()}"},
                                 content=bodies["pool"], headers=csv),
    }  # fmt: skip
    return attacks[kind]


def probe(url: str, seconds: float, out: Connection) -> None:
    """Taps `url` until `seconds` pass; sends back every latency in ms and the statuses."""
    os.sched_setaffinity(0, {CLIENT_CORE})
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    end = time.monotonic() + seconds
    with httpx.Client(timeout=120) as http:
        http.get(url)  # connected and warm
        while time.monotonic() < end:
            started = time.perf_counter()
            statuses[http.get(url).status_code] += 1
            latencies.append((time.perf_counter() - started) * 1000)
    out.send((latencies, dict(statuses)))


def measure(
    kind: str,
    base: str,
    seeded: Seeded,
    attack: Callable[[httpx.Client], httpx.Response] | None,
    seconds: float,
) -> Row:
    os.sched_setaffinity(0, {CLIENT_CORE})
    answers: Counter[str] = Counter()
    took: list[float] = []
    stop_attacks = threading.Event()

    def attacker() -> None:
        assert attack is not None
        with httpx.Client(timeout=600) as http:
            while not stop_attacks.is_set():
                started = time.perf_counter()
                try:
                    answers[str(attack(http).status_code)] += 1
                except httpx.HTTPError as exc:
                    answers[type(exc).__name__] += 1
                took.append(time.perf_counter() - started)

    threads = [threading.Thread(target=attacker) for _ in range(ATTACKERS if attack else 0)]
    for thread in threads:
        thread.start()
    if attack is not None:
        time.sleep(0.5)  # the attacks under way before the first tap
    receive, send = multiprocessing.Pipe(duplex=False)
    tapper = multiprocessing.Process(
        target=probe, args=(f"{base}/{seeded.link}", seconds, send)
    )
    tapper.start()
    latencies, statuses = receive.recv()
    tapper.join()
    stop_attacks.set()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    described = ", ".join(f"{n}x {status}" for status, n in sorted(answers.items()))
    if took:
        described += f" (median {statistics.median(took):.1f} s each)"
    bad = {s: n for s, n in statuses.items() if s != 302}
    if bad:
        described += f"; redirects answered {bad}"
    return Row(kind, p99, ordered[-1], len(ordered), described or "-")


def report(results: dict[str, list[Row]]) -> None:
    print(f"\n{'backend':<11}{'while':<18}{'p99 ms':>9}{'worst ms':>10}{'taps':>7}   attacks")
    for backend, rows in results.items():
        for row in rows:
            print(
                f"{backend:<11}{row.kind:<18}{row.p99_ms:>9.1f}{row.worst_ms:>10.1f}"
                f"{row.redirects:>7}   {row.attacks}"
            )


if __name__ == "__main__":
    if sys.platform != "linux":
        sys.exit("pins processes to cores: Linux only")
    main()
