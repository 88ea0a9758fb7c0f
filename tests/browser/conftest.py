"""A real server and Debian's chromium driven by Playwright, on a phone viewport with touch.

The app runs under uvicorn in a thread on 127.0.0.1 with a frozen clock (pages count down
from what the server says, so a short deadline needs no long sleep); chromium starts with
a fresh profile and no network beyond loopback. Screenshots go to
`tests/artifacts/browser/` (or `$RICHSMS_ARTIFACTS/browser/`).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from richsms.db import make_engine, session_scope
from richsms.settings import Settings
from sender.chores import chores_from_settings
from sender.delivery.providers.console import ConsoleProvider
from sender.delivery.worker import Worker, WorkerConfig
from shortener.models import Click
from tests.clock import FrozenClock
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


@dataclass
class LiveServer:
    url: str
    engine: Engine
    clock: FrozenClock
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(database_url: str, **environ: str) -> Iterator[LiveServer]:
    """The app under uvicorn in a thread on a free loopback port, on `database_url` (a
    migrated, empty database), with a frozen clock; `environ`: more settings."""
    from web.app import create_app

    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    settings = Settings.from_mapping(
        {
            "RICHSMS_DATABASE_URL": database_url,
            "RICHSMS_SECRET_KEY": TEST_SECRET,
            "RICHSMS_SHORT_URL": base,
            "RICHSMS_BASE_URL": base,
            "RICHSMS_FREQUENCY_CAP": "off",  # as in tests/conftest.py
            "RICHSMS_FREQUENCY_GAP_HOURS": "0",
            **environ,
        }
    )
    clock = FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    app = create_app(settings, clock=clock, preload_links=0)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    engine = make_engine(settings.database_url)
    try:
        yield LiveServer(base, engine, clock, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    """The live server on a fresh SQLite database."""
    path = tmp_path / "richsms.db"
    shutil.copyfile(sqlite_template, path)
    with serve(f"sqlite:///{path}") as live:
        yield live


@pytest.fixture
def live_server_each_backend(database_url: str) -> Iterator[LiveServer]:
    """The live server on SQLite, and on PostgreSQL when RICHSMS_TEST_POSTGRES_URL is set
    (each a fresh, empty schema)."""
    with serve(database_url) as live:
        yield live


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where each page's screenshot is kept after the run (ignored by git)."""
    return Path(os.environ.get("RICHSMS_ARTIFACTS", ROOT / "tests" / "artifacts")) / "browser"


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            user_agent=PHONE_UA,
            locale="fr-FR",
        )
        try:
            yield context
        finally:
            context.close()


@contextmanager
def desktop_and_phone(
    folder: Path, *, desktop_locale: str, phone_locale: str
) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """A desktop window and a phone (touch, 390 px wide), each with a fresh profile,
    from one Playwright."""
    with sync_playwright() as playwright:
        launch = playwright.chromium.launch_persistent_context
        desktop = launch(str(folder / "desktop"), executable_path=CHROMIUM, headless=True,
                         args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
                         locale=desktop_locale)
        phone = launch(str(folder / "phone"), executable_path=CHROMIUM, headless=True,
                       args=CHROMIUM_ARGS, viewport={"width": 390, "height": 844},
                       device_scale_factor=2, is_mobile=True, has_touch=True,
                       user_agent=PHONE_UA, locale=phone_locale)
        try:
            yield desktop, phone
        finally:
            phone.close()
            desktop.close()


def shoot(page: Page, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def touch_drag(page: Page, points: list[tuple[float, float]]) -> None:
    """A finger drag through `points` (CSS pixels), as the touch screen reports it."""
    cdp: Any = page.context.new_cdp_session(page)
    first, *rest = points
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": first[0], "y": first[1]}]},
    )
    for x, y in rest:
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def scratch_card(page: Page) -> None:
    """A finger zig-zag over the whole of the page's scratch card."""
    layer = page.locator(".sc-layer")
    layer.scroll_into_view_if_needed()
    box = layer.bounding_box()
    assert box is not None
    assert layer.evaluate("e => getComputedStyle(e).touchAction") == "none"
    points = []
    for row in range(6):
        y = box["y"] + 12 + row * (box["height"] - 24) / 5
        xs = [box["x"] + 10 + i * (box["width"] - 20) / 12 for i in range(13)]
        points += [(x, y) for x in (xs if row % 2 == 0 else xs[::-1])]
    touch_drag(page, points)


def seed(live: LiveServer, blocks: list[dict[str, Any]], *, first_name: str,
         language: str = "fr") -> tuple[str, int]:
    """A published page and one contact with a link to it: (short link URL, contact id)."""
    from landing_templates.links import issue_page_links
    from landing_templates.pages import create_page, publish_page
    from shortener.codes import CodeMaker
    from tests.landing_templates.pagekit import add_contact

    contact = add_contact(live.engine, live.clock, first_name=first_name,
                          phone="+33612345678", language=language)
    with session_scope(live.engine) as session:
        page = create_page(session=session, clock=live.clock, name="Soldes d'hiver",
                           language=language, blocks=blocks)
        assert page.page.id is not None
        publish_page(session=session, clock=live.clock, page_id=page.page.id)
        issued = issue_page_links(
            session=session,
            codes=CodeMaker(TEST_SECRET),
            clock=live.clock,
            base_url=live.settings.base_url,
            page_id=page.page.id,
            contact_ids=[contact],
        )
    return live.url + issued[0].code, contact


def sign_in(page: Page, live: LiveServer, email: str, password: str) -> None:
    """Through the sign-in form, to the dashboard."""
    page.goto(live.url + "ui/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action='/ui/signin'] button")
    expect(page).to_have_url(live.url + "ui/")


def settled(page: Page) -> None:
    """Wait until htmx has settled what it swapped in: until then (20 ms) the new forms
    are not yet its own, and a key pressed on one submits it as a plain form."""
    page.wait_for_function("() => !document.querySelector('.htmx-added, .htmx-settling')")


def watch(page: Page, errors: list[str]) -> None:
    """Keep the page's console errors (a refused script, a missing file)."""
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text} {m.location}")
            if m.type == "error" and "favicon.ico" not in str(m.location) else None)


def figure(page: Page, term: str) -> str:
    """The value shown beside a figure's name in the results."""
    return page.locator(f"dl.figures div:has(dt:text-is('{term}')) dd").inner_text().strip()


def hand_over(live: LiveServer) -> None:
    """What `richsms worker` does, one turn at a time on the server's clock: the chore
    loop plans the campaign, the worker hands its messages to the console provider (time
    passing as it sends), and the chore loop then marks the campaign done."""
    chores = chores_from_settings(live.engine, live.settings, live.clock, worker_id="journey")
    worker = Worker(
        live.engine,
        ConsoleProvider(),
        live.clock,
        WorkerConfig(worker_id="journey", default_rate=1000),
    )
    try:
        chores.run_once(force=True)
        for _ in range(10):
            live.clock.advance(timedelta(seconds=2))
            if not worker.run_once():
                break
        chores.run_once(force=True)
    finally:
        worker.close()
        chores.close()


def wait_for_click(live: LiveServer) -> None:
    """The redirect stores clicks from a background writer: wait until it has."""
    page_clicks = select(func.count()).select_from(Click)
    for _ in range(200):
        with Session(live.engine) as session:
            if session.execute(page_clicks).scalar_one() > 0:
                return
        time.sleep(0.05)
    raise AssertionError("the tap on the link was never stored as a click")


def import_csv(page: Page, live: LiveServer, csv: str, imported: int) -> None:
    """Contacts from a CSV file through the import screen, until its report shows."""
    page.goto(live.url + "ui/contacts/import")
    page.set_input_files("#file", {"name": "clients.csv", "mimeType": "text/csv",
                                   "buffer": csv.encode()})
    with page.expect_response(lambda r: r.url.endswith("/ui/contacts/import")
                              and r.request.method == "POST"):
        page.click("form[action='/ui/contacts/import'] button.primary")
    expect(page.locator("#import-outcome dl.figures")).to_contain_text(str(imported))
