"""Each screen of the marketers' UI with the demo data (`richsms demo` on a temporary
SQLite database): the median of 20 GETs as a signed-in user through the ASGI app (the
whole request: session, CSRF token, queries, Jinja2), slowest first, against the goal of
100 ms per screen.

    python -m bench.ui [--runs N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from bench.databases import sqlite_settings
from richsms.db import make_engine
from richsms.migrate import upgrade
from sender.demo import seed_demo
from tests.clock import FrozenClock
from tests.ui_screens import SCREENS

GOAL_MS = 100.0
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _time(client: TestClient, path: str, runs: int) -> float:
    """The median of `runs` GETs in milliseconds (after one unmeasured, warm-up GET)."""
    first = client.get(path)
    if first.status_code != 200:
        raise SystemExit(f"{path} answered {first.status_code}: {first.text[:300]}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ui.db'}"
        settings = sqlite_settings(url)
        engine = make_engine(url)
        upgrade(engine)
        demo = seed_demo(engine=engine, settings=settings, now=NOW)
        engine.dispose()
        assert demo is not None
        app = create_app(settings, clock=FrozenClock(NOW), preload_links=0)
        ids = {"campaign": demo.campaign_id, "draft": demo.campaign_id + 1, "page": demo.page_id}
        with TestClient(app, base_url="https://testserver") as client:
            form = client.get("/ui/signin").text
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token is not None
            signed = client.post(
                "/ui/signin",
                data={"csrf": token.group(1), "email": demo.email, "password": demo.password},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text[:300]
            timings = [(_time(client, s.format(**ids), args.runs), s.format(**ids))
                       for s in SCREENS]
    print(f"UI screens with the demo data ({demo.contacts} contacts), median of {args.runs} GETs")
    for ms, path in sorted(timings, reverse=True):
        flag = "" if ms < GOAL_MS else f"  over the {GOAL_MS:.0f} ms goal"
        print(f"  {ms:7.1f} ms  {path}{flag}")
    slowest = max(timings)
    print(f"slowest: {slowest[1]} at {slowest[0]:.1f} ms (goal: each under {GOAL_MS:.0f} ms)")


if __name__ == "__main__":
    main()
