"""Planning as a job: claimed by one worker at a time, batch by batch, each batch's links
and messages committed with the cursor, resumed by another worker after a crash."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session, col

from richsms.db import session_scope
from richsms.errors import Conflict
from richsms.settings import Settings
from sender.audience.custom_fields import record_custom_fields
from sender.audience.models import Contact, ContactGroup, GroupMember
from sender.campaigns.campaign import CampaignSpec, cancel_campaign, create_campaign, request_send
from sender.campaigns.models import Campaign
from sender.campaigns.planning_job import LEASE, JobHooks, run_planning
from sender.delivery.models import Message
from shortener.codes import CodeMaker
from shortener.models import Link
from tests.clock import FrozenClock


def seed(engine: Engine, clock: FrozenClock, count: int, *, consent: bool = True) -> int:
    """`count` contacts in one new group (every third without consent); the group's id."""
    now = clock.now()
    with session_scope(engine) as session:
        group = ContactGroup(name=f"group {count}", created_at=now)
        session.add(group)
        session.flush()
        first = session.execute(select(func.coalesce(func.max(col(Contact.id)), 0))).scalar_one()
        session.execute(
            insert(Contact),
            [
                {
                    "phone": f"+3361{first + i:07d}",
                    "first_name": f"C{i}",
                    "last_name": "",
                    "email": "",
                    "status": "subscribed",
                    "language": "fr",
                    "timezones": "Europe/Paris",
                    "fields": {},
                    "consent_type": "express" if consent or i % 3 else None,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, count + 1)
            ],
        )
        ids = session.execute(select(col(Contact.id)).where(col(Contact.id) > first)).scalars()
        session.execute(
            insert(GroupMember),
            [{"group_id": group.id, "contact_id": i, "added_at": now} for i in ids],
        )
        assert group.id is not None
        return group.id


def new_campaign(engine: Engine, clock: FrozenClock, group_id: int, **overrides: Any) -> int:
    options: dict[str, Any] = {
        "name": "Soldes",
        "type": "promotional",
        "template": "Bonjour {{ contact.first_name }} : {{ link }}",
        "target_url": "https://shop.example/soldes",
        "group_ids": [group_id],
        "window_start": "00:00",
        "window_end": "23:59",
        **overrides,
    }
    spec = CampaignSpec(**options)
    with session_scope(engine) as session:
        campaign = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
        assert campaign.id is not None
        return campaign.id


def send(engine: Engine, clock: FrozenClock, campaign_id: int) -> None:
    with session_scope(engine) as session:
        request_send(session=session, clock=clock, campaign_id=campaign_id)


def plan(
    engine: Engine, clock: FrozenClock, settings: Settings, worker: str, **options: Any
) -> list[int]:
    return run_planning(
        engine=engine,
        clock=clock,
        settings=settings,
        codes=CodeMaker(settings.secret_key.reveal()),
        worker_id=worker,
        **options,
    )


def campaign_row(engine: Engine, campaign_id: int) -> Campaign:
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign


def outbox(engine: Engine, campaign_id: int) -> list[tuple[int | None, int | None]]:
    """(contact_id, link_id) of each of the campaign's messages."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(Message.contact_id), col(Message.link_id)).where(
                col(Message.campaign_id) == campaign_id
            )
        )
        return [(r[0], r[1]) for r in rows]


def links_by_id(engine: Engine, campaign_id: int) -> dict[int, int | None]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(Link.id), col(Link.contact_id)).where(col(Link.campaign_id) == campaign_id)
        )
        return {int(r[0]): r[1] for r in rows}


def test_planning_goes_batch_by_batch_with_progress(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 25, consent=False)
    campaign_id = new_campaign(engine, clock, group)
    send(engine, clock, campaign_id)
    seen: list[dict[str, int | None]] = []
    hooks = JobHooks(after_batch=lambda _n, progress: seen.append(progress.as_dict()))
    assert plan(engine, clock, settings, "w1", batch_size=10, hooks=hooks) == [campaign_id]
    assert [s["planned"] for s in seen] == [7, 14, 17]  # every third gave no consent
    assert seen[-1] == {"planned": 17, "excluded": 8, "errors": 0, "total": 25}
    campaign = campaign_row(engine, campaign_id)
    assert campaign.status == "sending" and campaign.claimed_by is None
    messages = outbox(engine, campaign_id)
    links = links_by_id(engine, campaign_id)
    assert len(messages) == len(links) == 17
    assert all(links[link] == contact for contact, link in messages if link is not None)


KILL_SCRIPT = """
import os, signal
from datetime import UTC, datetime
from tests.clock import FrozenClock
from richsms.db import make_engine
from richsms.settings import Settings
from sender.campaigns.planning_job import JobHooks, run_planning
from shortener.codes import CodeMaker

settings = Settings.load()
engine = make_engine(settings.database_url)

def die(batch_number, batch):
    # The second batch's links and messages are written, not committed: killed here.
    if batch_number == 2:
        os.kill(os.getpid(), signal.SIGKILL)

run_planning(
    engine=engine,
    clock=FrozenClock(datetime.fromisoformat({now!r})),
    settings=settings,
    codes=CodeMaker(settings.secret_key.reveal()),
    worker_id="doomed",
    batch_size=10,
    hooks=JobHooks(before_commit=die),
)
"""


def test_a_worker_killed_mid_batch_leaves_no_orphan_and_another_resumes(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 35)
    campaign_id = new_campaign(engine, clock, group)
    send(engine, clock, campaign_id)
    script = textwrap.dedent(KILL_SCRIPT).replace("{now!r}", repr(clock.now().isoformat()))
    killed = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **os.environ,
            "RICHSMS_DATABASE_URL": settings.database_url,
            "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
            "RICHSMS_SHORT_URL": settings.short_url,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    # Only the first batch is there, links and messages together, and the cursor says so.
    campaign = campaign_row(engine, campaign_id)
    assert campaign.status == "planning" and campaign.claimed_by == "doomed"
    assert (campaign.planned_count, campaign.excluded_count, campaign.total_count) == (10, 0, 35)
    messages = outbox(engine, campaign_id)
    assert len(messages) == len(links_by_id(engine, campaign_id)) == 10
    assert campaign.planning_cursor == max(contact for contact, _ in messages if contact)
    # Its lease holds the job for a while; then another worker takes it over by itself.
    assert plan(engine, clock, settings, "w2", batch_size=10) == []
    clock.advance(LEASE + timedelta(seconds=1))
    assert plan(engine, clock, settings, "w2", batch_size=10) == [campaign_id]
    messages = outbox(engine, campaign_id)
    links = links_by_id(engine, campaign_id)
    assert len(messages) == len(links) == 35
    assert len({contact for contact, _ in messages}) == 35  # nobody twice
    assert all(links[link] == contact for contact, link in messages if link is not None)
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.status, campaign.planned_count) == ("sending", 35)


def test_several_workers_plan_several_campaigns_each_once(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 30)
    campaigns = [new_campaign(engine, clock, group) for _ in range(4)]
    for campaign_id in campaigns:
        send(engine, clock, campaign_id)
    finished: dict[str, list[int]] = {}
    start = threading.Barrier(3)

    def worker(name: str) -> None:
        start.wait()
        finished[name] = plan(engine, clock, settings, name, batch_size=7)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    every = sorted(c for done in finished.values() for c in done)
    assert every == campaigns  # each campaign planned to the end by exactly one worker
    for campaign_id in campaigns:
        messages = outbox(engine, campaign_id)
        assert len(messages) == len({contact for contact, _ in messages}) == 30


def test_a_failed_request_leaves_nothing_half_done(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 3)
    # Creation flushes, it does not commit: when the send that follows in the same unit
    # of work is refused, the campaign is not left behind.
    with pytest.raises(Conflict, match="approval"):
        with session_scope(engine) as session:
            spec = CampaignSpec(
                name="x",
                type="informational",
                template="Hello",
                group_ids=[group],
                requires_approval=True,
            )
            created = create_campaign(session=session, clock=clock, spec=spec, created_by=None)
            assert created.id is not None
            request_send(session=session, clock=clock, campaign_id=created.id)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Campaign)).scalar_one() == 0
    # A cancellation refused part-way (the status check fails) changes no message.
    campaign_id = new_campaign(engine, clock, group)
    send(engine, clock, campaign_id)
    plan(engine, clock, settings, "w1")
    with pytest.raises(Conflict):
        with session_scope(engine) as session:
            cancel_campaign(session=session, clock=clock, campaign_id=campaign_id)
            raise Conflict("the request failed after cancelling")
    assert campaign_row(engine, campaign_id).status == "sending"
    with Session(engine) as session:
        states = session.execute(
            select(col(Message.state)).where(col(Message.campaign_id) == campaign_id)
        ).scalars()
        assert set(states) == {"queued"}


def test_a_planning_whose_audience_vanished_fails_with_its_reason(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 3)
    campaign_id = new_campaign(engine, clock, group)
    send(engine, clock, campaign_id)
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.group_ids = [group + 100]
        session.add(campaign)
    assert plan(engine, clock, settings, "w1") == []
    campaign = campaign_row(engine, campaign_id)
    assert campaign.status == "failed"
    assert campaign.failure is not None and str(group + 100) in campaign.failure
    assert outbox(engine, campaign_id) == []


def test_a_recipient_whose_message_cannot_be_composed_gets_an_error_message(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 4)
    with session_scope(engine) as session:
        contact = session.get(Contact, 2)
        assert contact is not None
        contact.fields = {"bio": "blah " * 400}  # far past RICHSMS_MAX_SEGMENTS
        session.add(contact)
        record_custom_fields(session=session, names=["bio"])
    campaign_id = new_campaign(
        engine,
        clock,
        group,
        template="Bonjour {{ contact.bio }} {{ link }}",
        custom_fields=["bio"],
    )
    send(engine, clock, campaign_id)
    assert plan(engine, clock, settings, "w1") == [campaign_id]
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.planned_count, campaign.error_count) == (3, 1)
    with Session(engine) as session:
        failed = session.execute(
            select(Message).where(col(Message.state) == "error")
        ).scalars().one()
    assert failed.contact_id == 2 and failed.error is not None
    assert "segments" in failed.error


def test_a_page_campaign_gives_each_recipient_a_link_to_the_published_page(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    from landing_templates.pages import create_page, publish_page

    group = seed(engine, clock, 3)
    with session_scope(engine) as session:
        page = create_page(
            session=session,
            clock=clock,
            name="Noël",
            language="fr",
            blocks=[{"type": "heading", "text": "Bonjour {{ contact.first_name }}"}],
        )
        page_id = page.page.id
        assert page_id is not None
    campaign_id = new_campaign(engine, clock, group, target_url=None, page_id=page_id)
    with pytest.raises(Conflict, match="not published"):
        send(engine, clock, campaign_id)
    with session_scope(engine) as session:
        publish_page(session=session, clock=clock, page_id=page_id)
    send(engine, clock, campaign_id)
    assert plan(engine, clock, settings, "w1") == [campaign_id]
    with Session(engine) as session:
        links = list(
            session.execute(select(Link).where(col(Link.campaign_id) == campaign_id)).scalars()
        )
    assert len(links) == 3
    assert len({link.page_token for link in links}) == 3
    for link in links:
        assert link.page_id == page_id and link.page_version is not None
        assert link.target_url == f"{settings.base_url}p/{link.page_token}"


def test_cancelling_mid_planning_stops_the_job_and_cancels_what_was_planned(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 30)
    campaign_id = new_campaign(engine, clock, group)
    send(engine, clock, campaign_id)

    def cancel_after_first(batch: int, _progress: Any) -> None:
        if batch == 1:
            with session_scope(engine) as session:
                _, count = cancel_campaign(session=session, clock=clock, campaign_id=campaign_id)
            assert count == 10

    hooks = JobHooks(after_batch=cancel_after_first)
    assert plan(engine, clock, settings, "w1", batch_size=10, hooks=hooks) == []
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.status, campaign.planned_count) == ("cancelled", 10)
    with Session(engine) as session:
        states = session.execute(
            select(col(Message.state)).where(col(Message.campaign_id) == campaign_id)
        ).scalars()
        assert list(states) == ["cancelled"] * 10
    assert plan(engine, clock, settings, "w2", batch_size=10) == []  # nothing left to claim


def test_recipients_a_coupon_pool_cannot_serve_count_as_errors_in_the_progress(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    from landing_templates.coupons.pools import import_pool
    from landing_templates.pages import create_page, publish_page

    with session_scope(engine) as session:
        pool, _ = import_pool(session=session, clock=clock, name="Mini", csv_bytes=b"X-1\nX-2\n")
        blocks = [{"id": "c", "type": "coupon", "source": "pool", "pool_id": pool.id}]
        page = create_page(session=session, clock=clock, name="P", language="en", blocks=blocks)
        page_id = page.page.id
        assert page_id is not None
        publish_page(session=session, clock=clock, page_id=page_id)
    group = seed(engine, clock, 5)
    campaign_id = new_campaign(engine, clock, group, target_url=None, page_id=page_id)
    send(engine, clock, campaign_id)
    seen: list[dict[str, int | None]] = []
    hooks = JobHooks(after_batch=lambda _n, progress: seen.append(progress.as_dict()))
    assert plan(engine, clock, settings, "w1", batch_size=3, hooks=hooks) == [campaign_id]
    assert seen == [
        {"planned": 2, "excluded": 0, "errors": 1, "total": 5},
        {"planned": 2, "excluded": 0, "errors": 3, "total": 5},
    ]


def test_a_cancelled_campaigns_unsent_coupons_go_back_for_the_next_campaign(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    """Issue 19: campaign A is planned (its coupons drawn) then cancelled before anything
    left; campaign B with the same page gives the same recipients coupons of B's own, a
    pool's codes drawn again, never A's."""
    from landing_templates.coupons.models import Coupon
    from landing_templates.coupons.pools import import_pool
    from landing_templates.pages import create_page, publish_page

    with session_scope(engine) as session:
        pool, _ = import_pool(session=session, clock=clock, name="Lot", csv_bytes=b"L-1\nL-2\n")
        blocks = [
            {"id": "gen", "type": "coupon", "source": "generate", "pattern": "NOEL-######"},
            {"id": "lot", "type": "coupon", "source": "pool", "pool_id": pool.id},
        ]
        page = create_page(session=session, clock=clock, name="P", language="fr", blocks=blocks)
        page_id = page.page.id
        assert page_id is not None
        publish_page(session=session, clock=clock, page_id=page_id)
    group = seed(engine, clock, 2)

    def coupons() -> list[tuple[str, int | None, str | None]]:
        with Session(engine) as session:
            rows = session.execute(
                select(col(Coupon.block_id), col(Coupon.campaign_id), col(Coupon.code))
                .where(col(Coupon.assigned_at).is_not(None))
                .order_by(col(Coupon.block_id), col(Coupon.code))
            ).all()
        return [(block or "", campaign, code) for block, campaign, code in rows]

    first = new_campaign(engine, clock, group, target_url=None, page_id=page_id)
    send(engine, clock, first)
    assert plan(engine, clock, settings, "w1") == [first]
    assert {campaign for _, campaign, _ in coupons()} == {first} and len(coupons()) == 4
    with session_scope(engine) as session:
        cancel_campaign(session=session, clock=clock, campaign_id=first)
    assert coupons() == []  # generated codes deleted, the pool's two codes free again
    second = new_campaign(engine, clock, group, target_url=None, page_id=page_id)
    send(engine, clock, second)
    assert plan(engine, clock, settings, "w1") == [second]
    drawn = coupons()
    assert {campaign for _, campaign, _ in drawn} == {second}
    assert sorted(code for block, _, code in drawn if block == "lot") == ["L-1", "L-2"]
