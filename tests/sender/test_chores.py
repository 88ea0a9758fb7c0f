"""The chore loop runs planning, finishing and automations beside the send loop, never in
it: a unitary message goes out while a campaign is being planned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session, col
from starlette.testclient import TestClient

from richsms.accounts import create_token
from richsms.clock import Clock, SystemClock
from richsms.db import session_scope
from richsms.runtime import Runtime
from richsms.settings import Settings
from sender.audience.models import Contact, ContactGroup, GroupMember
from sender.campaigns.campaign import CampaignSpec, create_campaign, request_send
from sender.campaigns.models import Campaign
from sender.campaigns.planner import Progress
from sender.campaigns.planning_job import JobHooks
from sender.chores import Chore, ChoreLoop, chores_from_settings
from sender.delivery.models import Message
from sender.delivery.worker import worker_from_settings
from tests.clock import FrozenClock

RICHSMS = str(Path(sys.executable).with_name("richsms"))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll until `condition` holds; fails (naming `what`) only if it never does."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        pause.wait(0.05)
    raise AssertionError(f"gave up waiting: {what}")


def bearer(engine: Engine, clock: Clock) -> dict[str, str]:
    with session_scope(engine) as session:
        return {"Authorization": f"Bearer {create_token(session=session, name='t', clock=clock)}"}


def seed(engine: Engine, clock: Clock, count: int) -> int:
    now = clock.now()
    with session_scope(engine) as session:
        group = ContactGroup(name=f"group {count}", created_at=now)
        session.add(group)
        session.flush()
        session.execute(
            insert(Contact),
            [
                {
                    "phone": f"+3361{i:07d}",
                    "first_name": f"C{i}",
                    "last_name": "",
                    "email": "",
                    "status": "subscribed",
                    "language": "fr",
                    "timezones": "Europe/Paris",
                    "fields": {},
                    "consent_type": "express",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, count + 1)
            ],
        )
        ids = session.execute(select(col(Contact.id))).scalars()
        session.execute(
            insert(GroupMember),
            [{"group_id": group.id, "contact_id": i, "added_at": now} for i in ids],
        )
        assert group.id is not None
        return group.id


def new_campaign(engine: Engine, clock: Clock, group_id: int) -> int:
    spec = CampaignSpec(
        name="Soldes",
        type="informational",
        template="Bonjour {{ contact.first_name }}",
        group_ids=[group_id],
        window_start="00:00",
        window_end="23:59",
    )
    with session_scope(engine) as session:
        campaign = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
        assert campaign.id is not None
        return campaign.id


def status(engine: Engine, campaign_id: int) -> str:
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.status


def message_state(engine: Engine, message_id: int) -> str:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.state


def test_a_unitary_message_goes_out_while_a_campaign_is_being_planned(
    engine: Engine, settings: Settings
) -> None:
    from web.app import create_app

    # The worker's rate buckets fill with time: here time passes.
    clock = SystemClock()
    group = seed(engine, clock, 60)
    campaign_id = new_campaign(engine, clock, group)
    with session_scope(engine) as session:
        request_send(session=session, clock=clock, campaign_id=campaign_id)
    paused, release = threading.Event(), threading.Event()

    def hold_after_first_batch(batch: int, _progress: Progress) -> None:
        if batch == 1:
            paused.set()
            release.wait(60)

    chores = chores_from_settings(
        engine,
        settings,
        clock,
        hooks=JobHooks(after_batch=hold_after_first_batch),
        planning_batch=10,
    )
    runtime = Runtime(engine, sending=worker_from_settings(engine, settings, clock), chores=chores)
    runtime.start_threads()
    app = create_app(settings, clock=clock)
    try:
        with TestClient(app, headers=bearer(engine, clock)) as client:
            assert paused.wait(60), "the chore loop never started planning"
            assert status(engine, campaign_id) == "planning"  # mid-plan, held there
            unitary = client.post(
                "/api/messages",
                json={
                    "phone": "+33610000001",
                    "text": "Votre code : 4821",
                    "type": "administrative",
                },
            )
            assert unitary.status_code == 202, unitary.text
            message_id = unitary.json()["id"]
            wait_until(  # the console provider may confirm delivery at once
                lambda: message_state(engine, message_id) in ("sent", "delivered"),
                "the unitary message handed to the provider while the planner is held",
            )
            assert status(engine, campaign_id) == "planning"  # the planner is still held
            release.set()
            wait_until(lambda: status(engine, campaign_id) != "planning", "planning to finish")
    finally:
        release.set()
        runtime.stop_threads()
    with Session(engine) as session:
        planned = session.execute(
            select(func.count()).where(col(Message.campaign_id) == campaign_id)
        ).scalar_one()
    assert planned == 60


def test_serve_with_a_worker_plans_sends_and_finishes_a_campaign(
    settings: Settings, engine: Engine
) -> None:
    from web.app import create_app

    clock = SystemClock()
    group = seed(engine, clock, 5)
    campaign_id = new_campaign(engine, clock, group)
    app = create_app(settings, clock=clock, run_worker=True)
    with TestClient(app, headers=bearer(engine, clock)) as client:
        sent = client.post(f"/api/campaigns/{campaign_id}/send")
        assert sent.status_code == 202, sent.text

        def shown() -> dict[str, Any]:
            body: dict[str, Any] = client.get(f"/api/campaigns/{campaign_id}").json()
            return body

        wait_until(lambda: shown()["status"] == "done", "the campaign to be done")
        assert shown()["progress"] == {"planned": 5, "excluded": 0, "errors": 0, "total": 5}
        stats = client.get(f"/api/campaigns/{campaign_id}/stats").json()
        assert stats["delivery"]["sent"] == 5


def test_one_failing_chore_does_not_stop_the_others() -> None:
    ran: list[str] = []

    def broken(_stop: threading.Event) -> object:
        ran.append("broken")
        raise RuntimeError("boom")

    loop = ChoreLoop(
        [
            Chore("broken", 60, broken),
            Chore("fine", 60, lambda _stop: ran.append("fine")),
        ]
    )
    loop.run_once()
    loop.run_once()  # neither is due again yet
    loop.run_once(force=True)
    assert ran == ["broken", "fine", "broken", "fine"]


def test_the_worker_command_plans_campaigns_in_its_chore_loop(
    settings: Settings, clock: FrozenClock, engine: Engine, tmp_path: Path
) -> None:
    group = seed(engine, clock, 12)
    campaign_id = new_campaign(engine, clock, group)
    with session_scope(engine) as session:
        request_send(session=session, clock=clock, campaign_id=campaign_id)
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [RICHSMS, "worker"],
            env={
                **os.environ,
                "RICHSMS_DATABASE_URL": settings.database_url,
                "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
                "RICHSMS_CONSOLE_LOG": str(tmp_path / "deliveries.jsonl"),
            },
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        wait_until(lambda: status(engine, campaign_id) != "planning", "the worker to plan it")
        assert status(engine, campaign_id) in ("sending", "done")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()
    assert "chores started" in log.read_text()


def test_the_background_loops_write_in_short_transactions(
    settings: Settings, engine: Engine
) -> None:
    """Under the lock watchdog (tests/lock_watchdog.py), as the requests are: a 3,000
    recipient campaign with a link per recipient planned by the chore loop, sent by the
    worker, its receipts stored by the provider-events sink, finished; recipients' first
    views of a page assigning their coupons; then every chore once more over the whole
    record (the campaign reports' cache, automations, outside events, finishing)."""
    from tests.lock_watchdog import LockWatchdog
    from web.app import create_app

    clock = SystemClock()  # the worker's rate buckets fill with time: here time passes
    count = 3_000
    group = seed(engine, clock, count)
    spec = CampaignSpec(
        name="Soldes", type="informational", template="Bonjour {{ contact.first_name }} {{ link }}",
        target_url="https://shop.example/soldes", group_ids=[group], window_start="00:00",
        window_end="23:59", rate=5_000,
    )  # fmt: skip
    with session_scope(engine) as session:
        campaign = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
        campaign_id = campaign.id
    watchdog = LockWatchdog(settings.write_budget_ms)
    app = create_app(settings, clock=clock, run_worker=True)
    with TestClient(app, headers=bearer(engine, clock)) as client:
        app_engine: Engine = client.app.context.engine  # type: ignore[attr-defined]
        blocks = [{"id": "c", "type": "coupon", "source": "generate", "pattern": "NOEL-######"}]
        assert client.post("/api/pages", json={"name": "p", "language": "fr", "blocks": blocks}
                           ).status_code == 201  # fmt: skip
        assert client.post("/api/pages/1/publish").status_code == 200
        page_links = [
            client.post("/api/links", json={"page_id": 1, "contact_id": n}).json()["code"]
            for n in range(1, 21)
        ]
        with watchdog.watching(engine, app_engine, label="the background loops") as seen:
            sent = client.post(f"/api/campaigns/{campaign_id}/send")
            assert sent.status_code == 202, sent.text
            phone = {"user-agent": "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36"}
            for code in page_links:  # first views: each assigns its recipient's coupon
                view = client.get(f"/{code}", headers=phone)
                assert view.status_code == 200 and "NOEL-" in view.text
            wait_until(lambda: status(engine, campaign_id) == "done", "the campaign done", 300)
            chores_from_settings(engine, settings, clock).run_once(force=True)
        stats = client.get(f"/api/campaigns/{campaign_id}/stats").json()
    assert stats["delivery"]["sent"] == count
    assert len(seen) > 10


def test_the_chores_remove_a_pool_whose_import_died_and_leave_the_others(
    engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    from datetime import timedelta

    from landing_templates.coupons.models import Coupon, CouponPool

    start = clock.now()
    with session_scope(engine) as session:
        pools = [
            CouponPool(name="died", created_at=start, import_seen_at=start),
            CouponPool(name="importing", created_at=start, import_seen_at=start),
            CouponPool(name="full", created_at=start, import_seen_at=start, filled_at=start),
        ]
        session.add_all(pools)
        session.flush()
        for pool in pools:
            session.add_all(Coupon(code=f"{pool.name}-{n}", pool_id=pool.id, created_at=start)
                            for n in range(3))  # fmt: skip
    clock.advance(timedelta(minutes=5))
    with session_scope(engine) as session:  # still storing codes a moment ago
        importing = session.execute(select(CouponPool).where(col(CouponPool.name) == "importing"))
        importing.scalar_one().import_seen_at = clock.now() - timedelta(seconds=1)
    chores_from_settings(engine, settings, clock).run_once(force=True)
    with Session(engine) as session:
        left = session.execute(select(col(CouponPool.name)).order_by(col(CouponPool.id))).all()
        codes = session.execute(select(func.count()).select_from(Coupon)).scalar_one()
    assert [name for (name,) in left] == ["importing", "full"]
    assert codes == 6


def test_the_chores_fold_and_delete_clicks_past_the_retention(
    api: TestClient, engine: Engine, settings: Settings, clock: FrozenClock
) -> None:
    from datetime import timedelta

    from shortener.click_days import ClickDay
    from shortener.models import Click

    code = api.post("/api/links", json={"url": "https://shop.example/"}).json()["code"]
    now = clock.now()
    for days_ago in (settings.event_retention_days + 2, settings.event_retention_days - 1, 0):
        clock.set(now - timedelta(days=days_ago))
        assert api.get(f"/{code}", follow_redirects=False).status_code == 302
    clock.set(now)
    before = api.get(f"/api/links/{code}/stats").json()
    chores_from_settings(engine, settings, clock).run_once(force=True)
    with Session(engine) as session:
        left = session.execute(select(col(Click.clicked_at)).order_by(col(Click.id))).scalars()
        folded = session.execute(select(func.sum(col(ClickDay.clicks)))).scalar_one()
    assert list(left) == [now - timedelta(days=settings.event_retention_days - 1), now]
    assert folded == 1
    assert api.get(f"/api/links/{code}/stats").json() == before
