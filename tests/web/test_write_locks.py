"""No request holds the database in a write transaction past the budget (100 ms), however
large its input: reads take no write lock, and the work (analysis, parsing, resizing,
planning) is done before the transaction, which only writes.

Each test builds a large fixture set-based, outside the watch, then runs the heavy request
through the real app (SQLite and PostgreSQL) under the lock watchdog (`tests/lock_watchdog.py`),
which fails the test on any write transaction over the budget.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import Engine, bindparam, func, select, text
from sqlmodel import col
from starlette.testclient import TestClient

from richsms.db import session_scope
from richsms.settings import Settings
from richsms.types import UTCDateTime
from sender.audience.models import Contact
from sender.campaigns.planning_job import run_planning
from sender.delivery.models import Message
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_links
from shortener.models import Link
from tests.clock import FrozenClock
from tests.lock_watchdog import LockWatchdog
from tests.sender.campaigns.test_planning_job import new_campaign, send
from tests.web.test_ui import csrf, make_user, sign_in


@pytest.fixture
def watchdog(settings: Settings) -> LockWatchdog:
    return LockWatchdog(settings.write_budget_ms)


def numbers(engine: Engine) -> str:
    """A query of the integers 1 to :count, as column `i`."""
    if engine.dialect.name == "postgresql":
        return "SELECT i FROM generate_series(1, :count) AS g(i)"
    return "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :count) " \
        "SELECT i FROM g"


def many_contacts(engine: Engine, now: datetime, count: int, group: str = "everyone") -> int:
    """`count` consenting contacts in one new group, in two statements; the group's id."""
    empty = "CAST('{}' AS JSON)" if engine.dialect.name == "postgresql" else "'{}'"
    instant = bindparam("now", now, type_=UTCDateTime())
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contact (phone, first_name, last_name, email, language, timezones,"
                " fields, status, consent_type, consent_source, consent_at, created_at,"
                f" updated_at) SELECT '+' || CAST(33610000000 + i AS TEXT), 'P' || CAST(i AS TEXT),"
                f" '', '', 'fr', 'Europe/Paris', {empty}, 'subscribed', 'express', 'test', :now,"
                f" :now, :now FROM ({numbers(engine)}) AS n"
            ).bindparams(instant),
            {"count": count},
        )
        group_id = conn.execute(
            text("INSERT INTO contact_group (name, created_at) VALUES (:name, :now) RETURNING id")
            .bindparams(instant),
            {"name": group},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO group_member (group_id, contact_id, added_at)"
                " SELECT :group, id, :now FROM contact"
            ).bindparams(instant),
            {"group": group_id},
        )
    return int(group_id)


@pytest.fixture
def marketer(client: TestClient, engine: Engine, clock: FrozenClock) -> TestClient:
    make_user(engine, clock, "anne@shop.example")
    assert sign_in(client, "anne@shop.example").status_code == 303  # type: ignore[attr-defined]
    return client


def app_engine(client: TestClient) -> Engine:
    engine: Engine = client.app.context.engine  # type: ignore[attr-defined]
    return engine


def test_ui_pages_and_an_analysis_over_100k_contacts_take_no_write_lock(
    marketer: TestClient, engine: Engine, clock: FrozenClock, watchdog: LockWatchdog
) -> None:
    group_id = many_contacts(engine, clock.now(), 100_000)
    token = csrf(marketer.get("/ui/campaigns/new").text)
    with watchdog.watching(app_engine(marketer), label="UI pages, analysis over 100k") as seen:
        for path in ("/ui/", "/ui/contacts", "/ui/campaigns/new", "/ui/groups", "/ui/segments"):
            assert marketer.get(path).status_code == 200, path
        answer = marketer.post(
            "/ui/analyze",
            data={
                "csrf": token,
                "template": "Bonjour {{ contact.first_name }}, {% for i in range(20) %}"
                "{{ contact.phone[i % 5] }}{% endfor %}",
                "type": "promotional",
                f"group-{group_id}": "on",
            },
        )
    assert answer.status_code == 200, answer.text[:300]
    assert seen == []  # reading and analysing write nothing


def test_a_10_mb_contacts_import_in_the_ui_writes_in_short_transactions(
    marketer: TestClient, engine: Engine, watchdog: LockWatchdog
) -> None:
    note = "x" * 200
    rows = [f"+3362{n:07d},P{n},{note}" for n in range(45_000)]
    data = ("phone,first_name,note\r\n" + "\r\n".join(rows) + "\r\n").encode()
    assert 9_500_000 < len(data) < 10_000_000
    token = csrf(marketer.get("/ui/contacts/import").text)
    with watchdog.watching(app_engine(marketer), label="UI import, 10 MB") as seen:
        answer = marketer.post(
            "/ui/contacts/import",
            data={"csrf": token, "region": "FR"},
            files={"file": ("contacts.csv", data, "text/csv")},
        )
    assert answer.status_code == 200, answer.text[:500]
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Contact)).scalar_one() == 45_000
    assert len(seen) > 10  # written chunk by chunk


def big_png() -> bytes:
    """A 6324×6324 PNG (40 megapixels) that compresses to little: a gradient."""
    side = 6324
    image = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_big_image_is_resized_before_its_transaction(
    api: TestClient, marketer: TestClient, watchdog: LockWatchdog
) -> None:
    data = big_png()
    made = api.post("/api/pages", json={"name": "Soldes", "language": "fr", "blocks": []})
    assert made.status_code == 201, made.text
    page_id = made.json()["id"]
    builder = marketer.get(f"/ui/pages/{page_id}")
    assert builder.status_code == 200
    token = csrf(builder.text)
    with watchdog.watching(app_engine(api), label="big image, API and UI"):
        uploaded = api.post(
            "/api/images", content=data, headers={"content-type": "application/octet-stream"}
        )
        added = marketer.post(
            f"/ui/pages/{page_id}/images",
            content=data,
            headers={"x-csrf-token": token, "content-type": "application/octet-stream"},
        )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["widths"] == [360, 720, 1080]
    assert added.status_code == 200, added.text[:300]


def test_a_5000_recipient_batch_is_planned_before_its_transaction_while_links_are_made(
    api: TestClient,
    engine: Engine,
    clock: FrozenClock,
    settings: Settings,
    watchdog: LockWatchdog,
) -> None:
    group_id = many_contacts(engine, clock.now(), 5_000)
    campaign_id = new_campaign(
        engine, clock, group_id, template="Bonjour {{ contact.first_name }} : {{ link }}"
    )
    send(engine, clock, campaign_id)
    done = threading.Event()
    made: list[str] = []

    def make_links() -> None:
        while not done.is_set():
            answer = api.post("/api/links", json={"url": "https://shop.example/x"})
            assert answer.status_code == 201, answer.text
            made.append(answer.json()["code"])

    maker = threading.Thread(target=make_links)
    with watchdog.watching(engine, app_engine(api), label="planning 5,000 while links are made"):
        maker.start()
        try:
            finished = run_planning(
                engine=engine,
                clock=clock,
                settings=settings,
                codes=CodeMaker(settings.secret_key.reveal()),
                worker_id="w1",
                batch_size=5_000,
            )
        finally:
            done.set()
            maker.join()
    assert finished == [campaign_id]
    with session_scope(engine) as session:
        messages = session.execute(
            select(func.count(), func.count(func.distinct(col(Message.link_id)))).where(
                col(Message.campaign_id) == campaign_id
            )
        ).one()
        links = session.execute(select(func.count()).select_from(Link)).scalar_one()
    assert tuple(messages) == (5_000, 5_000)
    assert links == 5_000 + len(made)


def test_a_900k_code_pool_is_stored_in_short_transactions_and_shown_only_once_full(
    api: TestClient, watchdog: LockWatchdog
) -> None:
    size = 900_000
    data = ("code\n" + "\n".join(f"C{n:09d}" for n in range(size)) + "\n").encode()
    assert 9_000_000 < len(data) < 10_485_760
    done = threading.Event()
    shown: list[tuple[int, int | None]] = []

    def look() -> None:  # the pool (the first: id 1) is absent, or there with every code
        while not done.is_set():
            answer = api.get("/api/coupon-pools/1")
            shown.append((answer.status_code, answer.json().get("size")))

    looker = threading.Thread(target=look)
    with watchdog.watching(app_engine(api), label="900k-code pool") as seen:
        looker.start()
        try:
            made = api.post(
                "/api/coupon-pools?name=Big", content=data, headers={"content-type": "text/csv"}
            )
        finally:
            done.set()
            looker.join()
    assert made.status_code == 201, made.text[:300]
    assert (made.json()["id"], made.json()["imported"], made.json()["size"]) == (1, size, size)
    assert {s for s in shown if s[0] != 404} <= {(200, size)}
    assert len(seen) > 400  # written in short transactions
    counts = api.get("/api/coupon-pools/1").json()
    assert (counts["size"], counts["available"]) == (size, size)


def test_a_redirect_the_cache_cannot_answer_reads_without_the_write_lock(
    client: TestClient, engine: Engine, clock: FrozenClock, settings: Settings,
    watchdog: LockWatchdog,
) -> None:
    with session_scope(engine) as session:  # after the cache was loaded: it is not in it
        (link,) = create_links(
            session=session,
            codes=CodeMaker(settings.secret_key.reveal()),
            clock=clock,
            spec=LinkSpec(url="https://shop.example/"),
            contact_ids=[None],
        )
    with watchdog.watching(app_engine(client), label="redirects") as seen:
        for code in (link.code, "nosuchcode"):
            answer = client.get(f"/{code}", follow_redirects=False)
            assert answer.status_code in (302, 404), answer.text
    assert [t.opened_by for t in seen if "FROM link" in t.opened_by] == []
