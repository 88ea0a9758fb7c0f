"""The composer's live SMS analysis with an A/B test: `POST /ui/analyze` as a signed-in
user through the ASGI app, over a group of N contacts (temporary SQLite), median of R
runs. The floor, in the same run: the main text alone. Then with 2 and 4 variant texts:
every panel (what a page load asks), typing in the main text and typing in variant A
(the page sending back what its variant panels show, so only the changed ones are made).

    python -m bench.composer [--contacts N] [--runs R]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session
from starlette.testclient import TestClient

from bench.databases import sqlite_settings
from richsms.accounts import create_admin
from richsms.db import make_engine, session_scope
from richsms.migrate import upgrade
from sender.audience.csv_import import import_contacts
from sender.audience.groups import ContactRefs, add_members, create_group
from tests.clock import FrozenClock

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
TEXT = "Bonjour {{ contact.first_name }}, -20 % ce week-end"


def _seed(url: str, folder: Path, contacts: int, clock: FrozenClock) -> int:
    """A marketer and a group of `contacts` French contacts; the group's id."""
    engine = make_engine(url)
    upgrade(engine)
    phones = [f"+336{10_000_000 + i}" for i in range(contacts)]
    rows = "".join(f"{p},Prénom{i % 97},fr,express\n" for i, p in enumerate(phones))
    with session_scope(engine) as session:
        create_admin(session=session, email="bench@shop.example", password=PASSWORD,
                     clock=clock)  # fmt: skip
    with Session(engine) as session:
        import_contacts(session=session, data=("phone,first_name,language,consent\n" + rows)
                        .encode(), clock=clock, region="FR", reports=folder)  # fmt: skip
    with session_scope(engine) as session:
        group = create_group(session=session, name="Tous", clock=clock)
        add_members(session=session, group_id=group.id or 0, clock=clock,
                    contacts=ContactRefs(region="FR", phones=phones))  # fmt: skip
        group_id = group.id or 0
    engine.dispose()
    return group_id


def _median_ms(client: TestClient, form: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        answered = client.post("/ui/analyze", data=form)
        times.append((time.perf_counter() - start) * 1000)
        assert answered.status_code == 200, answered.text[:300]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'composer.db'}"
        settings = sqlite_settings(url)
        clock = FrozenClock(NOW)
        group = _seed(url, Path(folder), args.contacts, clock)
        app = create_app(settings, clock=clock, preload_links=0)
        with TestClient(app, base_url="https://testserver") as client:
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/signin").text)
            assert token is not None
            client.post("/ui/signin", data={"csrf": token[1], "email": "bench@shop.example",
                                            "password": PASSWORD})  # fmt: skip
            token = re.search(
                r'name="csrf" value="([^"]+)"', client.get("/ui/campaigns/new").text
            )
            assert token is not None
            base = {"csrf": token[1], "name": "Bench", "type": "informational",
                    "template": TEXT, f"group-{group}": "on"}  # fmt: skip
            print(f"POST /ui/analyze over {args.contacts:,} contacts, median of {args.runs}")
            _median_ms(client, base, 1)  # warm-up: the analysis worker process starts
            floor = _median_ms(client, base, args.runs)
            print(f"  main text alone (floor): {floor:7.0f} ms")
            for count in (2, 4):
                form = base | {"ab-variants": str(count)}
                form |= {f"ab-{i}-template": TEXT.replace("-20", f"-{30 + i}")
                         for i in range(count)}  # fmt: skip
                first = client.post("/ui/analyze", data=form).text
                shown = re.search(r'name="ab-analyzed" value="([^"]*)"', first)
                assert shown is not None
                page = form | {"ab-analyzed": shown[1]}
                for label, sent in (
                    ("every panel (page load)", form),
                    ("typing in the main text", page | {"template": TEXT + " !"}),
                    ("typing in variant A", page | {"ab-0-template": TEXT + " ?"}),
                ):
                    ms = _median_ms(client, sent, args.runs)
                    print(f"  {count} variants, {label}: {ms:7.0f} ms ({ms / floor:.1f}x floor)")


if __name__ == "__main__":
    main()
