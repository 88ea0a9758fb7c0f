"""A page campaign's coupons are assigned at planning, in each batch's transaction with the
recipients' links and messages: the recipient's first view then only reads them, and a
pool that runs out makes the rest production errors, never duplicates."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from landing_templates.coupons.models import Coupon
from landing_templates.coupons.pools import import_pool
from landing_templates.pages import create_page, publish_page
from landing_templates.serving import open_version
from landing_templates.view_state import CoreReader
from landing_templates.viewer import PageViewer
from richsms.db import session_scope
from richsms.settings import Settings
from sender.delivery.models import Message
from shortener.models import Link
from tests.clock import FrozenClock
from tests.landing_templates.pagekit import rich_blocks
from tests.sender.campaigns.test_planning_job import (
    LEASE,
    JobHooks,
    campaign_row,
    new_campaign,
    plan,
    seed,
    send,
)


def page_campaign(
    engine: Engine, clock: FrozenClock, group: int, blocks: list[dict[str, Any]]
) -> tuple[int, int]:
    """A published page of `blocks` and a campaign sending it to `group`, requested."""
    with session_scope(engine) as session:
        page = create_page(session=session, clock=clock, name="Noël", language="fr", blocks=blocks)
        page_id = page.page.id
        assert page_id is not None
        publish_page(session=session, clock=clock, page_id=page_id)
    campaign_id = new_campaign(engine, clock, group, target_url=None, page_id=page_id)
    send(engine, clock, campaign_id)
    return page_id, campaign_id


def coupons(engine: Engine, page_id: int) -> list[tuple[int | None, str, str]]:
    """(contact, block, code) of every coupon assigned on the page."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(Coupon.contact_id), col(Coupon.block_id), col(Coupon.code)).where(
                col(Coupon.page_id) == page_id, col(Coupon.assigned_at).is_not(None)
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


def page_links(engine: Engine, campaign_id: int) -> list[Link]:
    with Session(engine) as session:
        return list(
            session.execute(select(Link).where(col(Link.campaign_id) == campaign_id)).scalars()
        )


def test_planning_assigns_every_coupon_shown_on_sight_and_the_first_view_assigns_none(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 12)
    page_id, campaign_id = page_campaign(engine, clock, group, rich_blocks(clock.now()))
    assert plan(engine, clock, settings, "w1", batch_size=5) == [campaign_id]
    held = coupons(engine, page_id)
    # Two coupon blocks and the scratch card's prize; the wheel's coupon waits for its spin.
    assert Counter(block for _, block, _ in held) == {"cp": 12, "qr": 12, "sc": 12}
    assert len({code for _, _, code in held}) == len(held) == 36
    by_contact = {(contact, block): code for contact, block, code in held}
    viewer = PageViewer(engine=engine, clock=clock, base_url=settings.base_url)
    try:
        first = page_links(engine, campaign_id)[0]
        with Session(engine) as session:
            compiled = open_version(
                session=session, cache=viewer.cache, page_id=page_id, version=first.page_version
            ).compiled
        with engine.connect() as conn:
            # The first view's fast path: one read finds every coupon (MissingCoupons
            # would mean the view has coupons to assign and takes a write transaction).
            state = viewer.read_state(CoreReader(conn), compiled, first.contact_id, None, False)
        assert viewer.answer(compiled, state, False).status == 200
        for link in page_links(engine, campaign_id):
            assert link.page_token is not None
            page = viewer.by_token(link.page_token, bot=False)
            assert page.status == 200
            for block in ("cp", "qr", "sc"):
                assert by_contact[(link.contact_id, block)] in page.html
    finally:
        viewer.close()
    assert coupons(engine, page_id) == held  # opening the pages stored no new coupon


def test_a_pool_that_runs_out_makes_the_rest_production_errors_never_duplicates(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    with session_scope(engine) as session:
        pool, _report = import_pool(
            session=session, clock=clock, name="Soldes", csv_bytes=b"code\nAAA-1\nAAA-2\nAAA-3\n"
        )
        pool_id = pool.id
    group = seed(engine, clock, 5)
    blocks = [
        {"type": "heading", "text": "Bonjour"},
        {"id": "cp", "type": "coupon", "source": "pool", "pool_id": pool_id},
    ]
    page_id, campaign_id = page_campaign(engine, clock, group, blocks)
    assert plan(engine, clock, settings, "w1", batch_size=2) == [campaign_id]
    campaign = campaign_row(engine, campaign_id)
    assert (campaign.planned_count, campaign.error_count) == (3, 2)
    held = coupons(engine, page_id)
    assert sorted(code for _, _, code in held) == ["AAA-1", "AAA-2", "AAA-3"]
    assert len({contact for contact, _, _ in held}) == 3
    with Session(engine) as session:
        messages = list(
            session.execute(
                select(Message).where(col(Message.campaign_id) == campaign_id)
            ).scalars()
        )
    errors = [m for m in messages if m.state == "error"]
    sent = [m for m in messages if m.state != "error"]
    assert len(errors) == 2 and len(sent) == 3
    assert all(m.error == "coupon pool 'Soldes' ran out (block 'cp')" for m in errors)
    assert all(m.link_id is None and m.text == "" for m in errors)  # nothing to send them
    assert {m.contact_id for m in sent} == {contact for contact, _, _ in held}
    # Only the recipients served got a page link.
    assert {link.contact_id for link in page_links(engine, campaign_id)} == {
        m.contact_id for m in sent
    }


def test_a_batch_that_fails_before_commit_leaves_no_coupon_and_the_resumed_job_none_twice(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    group = seed(engine, clock, 9)
    blocks = [
        {"type": "heading", "text": "Bonjour"},
        {"id": "cp", "type": "coupon", "source": "generate", "pattern": "NOEL-######"},
    ]
    page_id, campaign_id = page_campaign(engine, clock, group, blocks)

    def crash(batch_number: int, batch: object) -> None:
        if batch_number == 2:
            raise RuntimeError("the worker died here")

    with pytest.raises(RuntimeError):
        plan(engine, clock, settings, "doomed", batch_size=4, hooks=JobHooks(before_commit=crash))
    assert len(coupons(engine, page_id)) == 4  # the first batch's, committed with it
    clock.advance(LEASE + timedelta(seconds=1))
    assert plan(engine, clock, settings, "w2", batch_size=4) == [campaign_id]
    held = coupons(engine, page_id)
    assert len(held) == len({contact for contact, _, _ in held}) == 9
    with Session(engine) as session:
        total = session.execute(
            select(func.count()).select_from(Coupon).where(col(Coupon.page_id) == page_id)
        ).scalar_one()
    assert total == 9
